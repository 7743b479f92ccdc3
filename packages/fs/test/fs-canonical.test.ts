import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hash } from '@cafs/kv';
import type { Fs } from '../src/index.js';
import { bytes, hex, newFs } from './helpers.js';

/** The root directory gets the clock's time too, so that touching it in a detour changes nothing. */
const T = 1_700_000_000_000_000_000n;

interface Spec {
  dirs: string[];
  files: { path: string; data: Uint8Array }[];
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    dirs: fc.uniqueArray(fc.constantFrom('/d1', '/d2', '/d1/e', '/d1/f', '/d2/e'), { maxLength: 5 }),
    files: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('x', 'y', 'z.txt'),
        dir: fc.constantFrom('', '/d1', '/d2', '/d1/e'),
        size: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 400_000 })),
        seed: fc.integer({ min: 1, max: 1000 }),
        sparse: fc.boolean(),
      }),
      { maxLength: 6, selector: (f) => f.dir + '/' + f.name },
    ),
  })
  .map(({ dirs, files }) => {
    const all = new Set<string>();
    const addWithParents = (d: string): void => {
      const parts = d.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i++) all.add('/' + parts.slice(0, i).join('/'));
    };
    for (const d of dirs) addWithParents(d);
    for (const f of files) addWithParents(f.dir);
    return {
      dirs: [...all].sort(),
      files: files.map((f) => {
        const data = bytes(f.size, f.seed);
        // Zero a stretch so that holes appear in the middle of content.
        if (f.sparse && f.size > 20_000) data.fill(0, 5_000, Math.min(f.size, 5_000 + 3 * 4096 + 123));
        return { path: f.dir + '/' + f.name, data };
      }),
    };
  });

async function direct(fs: Fs, spec: Spec): Promise<Hash> {
  const b = fs.batch(await fs.mkfs({ mtime: T }));
  for (const d of spec.dirs) await b.mkdir(d);
  for (const f of spec.files) await b.writeFile(f.path, f.data);
  return b.flush();
}

/** Reaches the same tree the long way: pieces at random offsets, detours, renames, truncations. */
async function roundabout(fs: Fs, spec: Spec, seed: number): Promise<Hash> {
  let rnd = seed >>> 0 || 7;
  const next = (n: number): number => {
    rnd ^= rnd << 13;
    rnd >>>= 0;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    rnd >>>= 0;
    return rnd % n;
  };
  let root = await fs.mkfs({ mtime: T });
  root = await fs.mkdir(root, '/tmp-detour');
  root = await fs.writeFile(root, '/tmp-detour/junk', bytes(70_000, 3));
  for (const d of [...spec.dirs].reverse()) root = await fs.mkdir(root, d, { recursive: true });
  for (const f of [...spec.files].reverse()) {
    const tmp = f.path + '.part';
    // Start with garbage, a truncation to zero, then the content in shuffled pieces.
    root = await fs.writeFile(root, tmp, bytes(1 + next(100_000), next(1000) + 1));
    root = await fs.truncate(root, tmp, 0);
    const n = f.data.length;
    const cuts = [0, n, ...Array.from({ length: next(6) }, () => next(n + 1))].sort((a, b) => a - b);
    const pieces = cuts.slice(1).map((end, i) => [cuts[i]!, end] as const).filter(([s, e]) => e > s);
    for (let i = pieces.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
    }
    for (const [s, e] of pieces) root = await fs.write(root, tmp, s, f.data.subarray(s, e));
    // Overshoot then cut back.
    if (next(2) === 0) {
      root = await fs.truncate(root, tmp, n + 1 + next(50_000));
      root = await fs.truncate(root, tmp, n);
    }
    if (n === 0) root = await fs.truncate(root, tmp, 0);
    root = await fs.rename(root, tmp, f.path);
    // Rename away and back.
    root = await fs.rename(root, f.path, '/tmp-detour/moved');
    root = await fs.rename(root, '/tmp-detour/moved', f.path);
  }
  root = await fs.rm(root, '/tmp-detour', { recursive: true });
  return root;
}

describe('canonical roots', () => {
  it('the same final tree gives the same root, whatever the history', async () => {
    await fc.assert(
      fc.asyncProperty(specArb, fc.integer(), async (spec, seed) => {
        const fs = newFs();
        const a = await direct(fs, spec);
        const b = await roundabout(fs, spec, seed);
        expect(hex(b)).toBe(hex(a));
        for (const f of spec.files) expect(Buffer.from(await fs.readFile(b, f.path)).equals(Buffer.from(f.data))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('inserting one byte in the middle of a big file re-stores about one chunk', async () => {
    const fs = newFs();
    const data = bytes(8 * 1024 * 1024, 99);
    const a = await fs.writeFile(await fs.mkfs(), '/big', data);
    const before = new Set<string>();
    for await (const h of fs.store.hashes()) before.add(hex(h));
    const edited = new Uint8Array(data.length + 1);
    edited.set(data.subarray(0, 4_000_000));
    edited[4_000_000] = 42;
    edited.set(data.subarray(4_000_000), 4_000_001);
    const b = await fs.writeFile(a, '/big', edited);
    let added = 0;
    for await (const h of fs.store.hashes()) if (!before.has(hex(h))) added++;
    // One or two new chunks plus a few tree nodes.
    expect(added).toBeLessThanOrEqual(12);
    // And the same edit made in place with write + rewrite gives the same root.
    const c = await fs.write(await fs.truncate(a, '/big', 4_000_000), '/big', 4_000_000, edited.subarray(4_000_000));
    expect(hex(c)).toBe(hex(b));
  });

  it('writing identical content twice stores it once', async () => {
    const fs = newFs();
    const data = bytes(3 * 1024 * 1024, 5);
    let root = await fs.writeFile(await fs.mkfs(), '/one', data);
    let count = 0;
    for await (const _ of fs.store.hashes()) count++;
    root = await fs.writeFile(root, '/two', data);
    root = await fs.copy(root, '/one', '/three');
    let after = 0;
    for await (const _ of fs.store.hashes()) after++;
    // The 3 MiB is ~48 chunks: none is stored again; only a few tree nodes are new.
    expect(after - count).toBeLessThanOrEqual(16);
    expect(Buffer.from(await fs.readFile(root, '/three')).equals(Buffer.from(data))).toBe(true);
  });

  it('100k files of 100 bytes do not make 100k blobs', async () => {
    const fs = newFs();
    const b = fs.batch(await fs.mkfs());
    await b.mkdir('/many');
    for (let i = 0; i < 100_000; i++) await b.writeFile(`/many/f${i}`, bytes(100, i + 1));
    const root = await b.flush();
    let blobs = 0;
    for await (const _ of fs.store.hashes()) blobs++;
    expect(blobs).toBeLessThan(20_000);
    expect(Buffer.from(await fs.readFile(root, '/many/f77777')).equals(Buffer.from(bytes(100, 77778)))).toBe(true);
    expect((await fs.readdir(root, '/many')).length).toBe(100_000);
  });
});
