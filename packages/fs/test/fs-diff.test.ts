import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, type Hash } from '@cafs/kv';
import type { Fs } from '../src/index.js';
import { bytes, newFs } from './helpers.js';

const nameArb = fc.constantFrom('a', 'b', 'c', 'd');
const pathArb = fc.array(nameArb, { minLength: 1, maxLength: 3 }).map((n) => '/' + n.join('/'));
const opArb = fc.oneof(
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('write' as const), path: pathArb, size: fc.integer({ min: 0, max: 90_000 }), seed: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant('poke' as const), path: pathArb, offset: fc.integer({ min: 0, max: 90_000 }), seed: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant('rm' as const), path: pathArb }),
  fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(0o600, 0o644, 0o755) }),
  fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

async function build(fs: Fs, root: Hash, ops: Op[]): Promise<Hash> {
  const b = fs.batch(root);
  for (const op of ops) {
    try {
      if (op.op === 'mkdir') await b.mkdir(op.path, { recursive: true });
      else if (op.op === 'write') await b.writeFile(op.path, bytes(op.size, op.seed));
      else if (op.op === 'poke') await b.write(op.path, op.offset, bytes(10, op.seed));
      else if (op.op === 'rm') await b.rm(op.path, { recursive: true });
      else if (op.op === 'chmod') await b.chmod(op.path, op.mode);
      else await b.rename(op.from, op.to);
    } catch (err) {
      if ((err as { code?: string }).code === undefined) throw err;
    }
  }
  return b.flush();
}

/** path -> everything stored for it (info and extents), from a full walk of the tree. */
async function walk(fs: Fs, root: Hash): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of fs.tree.entries(root)) {
    const k = e.key;
    const isExtent = k.length >= 10 && k[k.length - 9] === 0;
    const owner = isExtent ? k.subarray(0, k.length - 9) : k;
    const path = owner.length === 1 ? '/' : new TextDecoder().decode(owner.subarray(0, owner.length - 1));
    out.set(path, (out.get(path) ?? '') + bytesToHex(k) + '=' + bytesToHex(e.value) + ';');
  }
  return out;
}

describe('filesystem diff', () => {
  it('equals a brute-force comparison of two full walks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), fc.array(opArb, { maxLength: 12 }), fc.boolean(), async (base, change, fromScratch) => {
        const fs = newFs();
        const empty = await fs.mkfs();
        const a = await build(fs, empty, base);
        const b = await build(fs, fromScratch ? empty : a, change);
        const [wa, wb] = [await walk(fs, a), await walk(fs, b)];
        const want: [string, string][] = [];
        for (const p of new Set([...wa.keys(), ...wb.keys()])) {
          const l = wa.get(p);
          const r = wb.get(p);
          if (l === r) continue;
          want.push([p, l === undefined ? 'add' : r === undefined ? 'remove' : 'change']);
        }
        const got: [string, string][] = [];
        for await (const c of fs.diff(a, b)) got.push([c.path, c.op]);
        const byPath = (x: [string, string], y: [string, string]) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
        expect(got.sort(byPath)).toEqual(want.sort(byPath));
      }),
      { numRuns: 120 },
    );
  });

  it('reports changed byte ranges and renames, and costs nothing for identical roots', async () => {
    const fs = newFs();
    let a = await fs.mkfs();
    a = await fs.writeFile(a, '/big', bytes(2_000_000, 3));
    a = await fs.writeFile(a, '/moved-from', bytes(300_000, 4));
    let b = await fs.write(a, '/big', 1_000_000, bytes(10, 9));
    b = await fs.rename(b, '/moved-from', '/moved-to');
    const changes = [];
    for await (const c of fs.diff(a, b, { ranges: true, renames: true })) changes.push(c);
    expect(changes.map((c) => [c.op, c.path, c.from])).toEqual([
      ['change', '/big', undefined],
      ['rename', '/moved-to', '/moved-from'],
    ]);
    const ranges = changes[0]!.ranges!;
    expect(ranges.length).toBe(1);
    expect(ranges[0]!.start).toBeLessThanOrEqual(1_000_000n);
    expect(ranges[0]!.end).toBeGreaterThanOrEqual(1_000_010n);
    // About one chunk, not the file.
    expect(ranges[0]!.end - ranges[0]!.start).toBeLessThan(600_000n);

    const reads = fs.tree.stats.reads;
    const same = [];
    for await (const c of fs.diff(b, b)) same.push(c);
    expect(same).toEqual([]);
    expect(fs.tree.stats.reads).toBe(reads);

    const only = [];
    for await (const c of fs.diff(a, b, { path: '/big' })) only.push(c.path);
    expect(only).toEqual(['/big']);
  });
});
