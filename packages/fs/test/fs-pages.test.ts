// Paged reads for servers: diffPage pages and dirEntries({ after }) put together equal the
// unpaged answer, whatever the page size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newFs, bytes } from './helpers.js';

const nameArb = fc.constantFrom('a', 'b', 'c', 'a b', 'a-b', 'z');
const pathArb = fc.array(nameArb, { minLength: 1, maxLength: 3 }).map((n) => '/' + n.join('/'));
const opArb = fc.record({ path: pathArb, kind: fc.constantFrom('file', 'dir', 'rm'), seed: fc.integer({ min: 1, max: 9 }) });
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

async function apply(fs: ReturnType<typeof newFs>, root: Uint8Array, ops: Op[]): Promise<Uint8Array> {
  const b = fs.batch(root);
  for (const op of ops) {
    try {
      if (op.kind === 'file') await b.writeFile(op.path, bytes(op.seed * 10, op.seed));
      else if (op.kind === 'dir') await b.mkdir(op.path, { recursive: true });
      else await b.rm(op.path, { recursive: true });
    } catch (err) {
      if ((err as { code?: string }).code === undefined) throw err;
    }
  }
  return b.flush();
}

describe('paged reads', () => {
  it('diffPage pages, put together, are the whole diff', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 20 }), fc.array(opArb, { maxLength: 20 }), fc.integer({ min: 1, max: 5 }), async (base, change, limit) => {
        const fs = newFs();
        const a = await apply(fs, await fs.mkfs(), base);
        const b = await apply(fs, a, change);
        const whole: string[] = [];
        for await (const c of fs.diff(a, b)) whole.push(c.op + ' ' + c.path);
        const paged: string[] = [];
        let after: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThanOrEqual(whole.length);
          const p = await fs.diffPage(a, b, { after, limit });
          expect(p.changes.length).toBeLessThanOrEqual(limit);
          paged.push(...p.changes.map((c) => c.op + ' ' + c.path));
          if (p.next === undefined) break;
          after = p.next;
        }
        expect(paged).toEqual(whole);
      }),
      { numRuns: 150 },
    );
  });

  it('dirEntries after a name lists the rest of the directory, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..'), { maxLength: 12 }), fc.nat(), async (names, pick) => {
        const fs = newFs();
        const b = fs.batch(await fs.mkfs());
        for (const [i, n] of names.entries()) {
          if (i % 2 === 0) await b.writeFile('/' + n, bytes(i, 1));
          else await b.mkdir('/' + n + '/sub', { recursive: true });
        }
        const root = await b.flush();
        const all: { name: string; size: bigint }[] = [];
        for await (const e of fs.dirEntries(root, '/')) all.push({ name: e.name, size: e.size });
        for (const e of all) expect(e.size).toBe((await fs.lstat(root, '/' + e.name)).size);
        if (all.length === 0) return;
        const cut = pick % all.length;
        const rest: string[] = [];
        for await (const e of fs.dirEntries(root, '/', { after: all[cut]!.name })) rest.push(e.name);
        expect(rest).toEqual(all.slice(cut + 1).map((e) => e.name));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a page limit that is not a positive integer', async () => {
    const fs = newFs();
    const r = await fs.mkfs();
    await expect(fs.diffPage(r, await fs.writeFile(r, '/x', 'y'), { limit: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
  });
});
