import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, compareBytes } from '../src/bytes.js';
import { EMPTY_ROOT, type Tree } from '../src/tree/tree.js';
import type { Edit, Entry } from '../src/tree/entry.js';
import type { Hash } from '../src/hash.js';
import { allEntries, newTree, plain, prng, randomKey } from './helpers.js';

const hex = (h: Hash): string => bytesToHex(h);

function makeEntries(n: number, seed: number, keyLength = 32, valueLength = 64): Entry[] {
  const next = prng(seed);
  const seen = new Set<string>();
  const out: Entry[] = [];
  while (out.length < n) {
    const key = randomKey(next, keyLength);
    const id = hex(key);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ key, value: randomKey(next, valueLength) });
  }
  return out;
}

function shuffle<T>(items: T[], seed: number): T[] {
  const next = prng(seed);
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function insertInBatches(tree: Tree, root: Hash, entries: Entry[], batch: number): Promise<Hash> {
  for (let i = 0; i < entries.length; i += batch) {
    root = await tree.mutate(
      root,
      entries.slice(i, i + batch).map((e): Edit => ({ type: 'put', key: e.key, value: e.value })),
    );
  }
  return root;
}

describe('history independence', () => {
  it('100k entries: bulk load, shuffled batches, single puts and delete/re-insert all give one root', async () => {
    const entries = makeEntries(100_000, 7);
    const sorted = [...entries].sort((a, b) => compareBytes(a.key, b.key));
    const tree = newTree();
    const built = await tree.build(sorted);
    const root = await tree.nodes.root(built);
    expect(root.level).toBeGreaterThanOrEqual(2);

    const batched = await insertInBatches(tree, EMPTY_ROOT, shuffle(entries, 1), 7_919);
    expect(hex(batched)).toBe(hex(built));

    const oneBatch = await insertInBatches(tree, EMPTY_ROOT, shuffle(entries, 2), entries.length);
    expect(hex(oneBatch)).toBe(hex(built));

    // Delete a random 30% (in shuffled batches), re-insert them one by one.
    const victims = shuffle(entries, 3).slice(0, 30_000);
    let r = built;
    for (let i = 0; i < victims.length; i += 1000) {
      r = await tree.mutate(r, victims.slice(i, i + 1000).map((e): Edit => ({ type: 'del', key: e.key })));
    }
    expect(hex(r)).not.toBe(hex(built));
    for (const e of victims.slice(0, 2_000)) r = await tree.put(r, e.key, e.value);
    r = await insertInBatches(tree, r, victims.slice(2_000), 3_001);
    expect(hex(r)).toBe(hex(built));

    // Deleting everything reaches the empty root.
    const cleared = await tree.deleteRange(built, {});
    expect(hex(cleared)).toBe(hex(EMPTY_ROOT));
  });

  it('random histories reaching the same entry set give the same root', async () => {
    const pool = makeEntries(4_000, 11, 12, 20);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(pool.map((_, i) => i), { minLength: 0 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.subarray(pool.map((_, i) => i)),
        fc.integer(),
        async (finalIdx, batch, noiseIdx, seed) => {
          const tree = newTree();
          const finalSet = finalIdx.map((i) => pool[i]!);
          const want = await tree.build([...finalSet].sort((a, b) => compareBytes(a.key, b.key)));
          // History: insert noise and the final set in a shuffled order with other values,
          // then overwrite with the final values and delete the noise.
          const noise = noiseIdx.filter((i) => !finalIdx.includes(i)).map((i) => pool[i]!);
          const wrongValues = finalSet.map((e) => ({ key: e.key, value: new Uint8Array([1, 2, 3]) }));
          let r = await insertInBatches(tree, EMPTY_ROOT, shuffle([...noise, ...wrongValues], seed), batch);
          r = await insertInBatches(tree, r, shuffle(finalSet, seed + 1), batch);
          const dels = shuffle(noise, seed + 2).map((e): Edit => ({ type: 'del', key: e.key }));
          for (let i = 0; i < dels.length; i += batch) r = await tree.mutate(r, dels.slice(i, i + batch));
          expect(hex(r)).toBe(hex(want));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a value update that keeps keys rewrites exactly the nodes on its path', async () => {
    const entries = makeEntries(50_000, 5).sort((a, b) => compareBytes(a.key, b.key));
    const tree = newTree();
    const root = await tree.build(entries);
    const height = (await tree.nodes.root(root)).level + 1;
    for (const i of [0, 777, 25_000, 49_999]) {
      const before = tree.stats.writes;
      const next = await tree.put(root, entries[i]!.key, new Uint8Array(64).fill(i & 0xff));
      expect(tree.stats.writes - before).toBe(height);
      expect((await tree.nodes.root(next)).level + 1).toBe(height);
    }
  });

  it('deleteRange drops covered nodes unread and matches a rebuild', async () => {
    const entries = makeEntries(60_000, 9).sort((a, b) => compareBytes(a.key, b.key));
    const tree = newTree();
    const root = await tree.build(entries);
    const lo = entries[5_000]!.key;
    const hi = entries[55_000]!.key;
    const before = tree.stats.reads;
    const cut = await tree.deleteRange(root, { gte: lo, lt: hi });
    const reads = tree.stats.reads - before;
    // 50k entries span ~1,200 leaves; only the two edge leaves and the inner levels are read.
    expect(reads).toBeLessThan(200);
    const kept = [...entries.slice(0, 5_000), ...entries.slice(55_000)];
    expect(hex(cut)).toBe(hex(await tree.build(kept)));
    expect(plain(await allEntries(tree, cut))).toEqual(plain(kept));
  });
});
