import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, compareBytes } from '../src/bytes.js';
import { EMPTY_ROOT } from '../src/tree/tree.js';
import type { Edit, Entry } from '../src/tree/entry.js';
import type { DiffEntry } from '../src/tree/diff.js';
import { allEntries, collect, newTree, prng, randomKey } from './helpers.js';

const hx = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : bytesToHex(b));
const show = (d: DiffEntry[]): [string, string | undefined, string | undefined][] => d.map((e) => [bytesToHex(e.key), hx(e.left), hx(e.right)]);

function bruteForce(left: Entry[], right: Entry[]): DiffEntry[] {
  const out: DiffEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const c = i >= left.length ? 1 : j >= right.length ? -1 : compareBytes(left[i]!.key, right[j]!.key);
    if (c < 0) out.push({ key: left[i]!.key, left: left[i++]!.value });
    else if (c > 0) out.push({ key: right[j]!.key, right: right[j++]!.value });
    else {
      if (compareBytes(left[i]!.value, right[j]!.value) !== 0) out.push({ key: left[i]!.key, left: left[i]!.value, right: right[j]!.value });
      i++;
      j++;
    }
  }
  return out;
}

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 5, max: 15 });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
);

describe('diff', () => {
  it('equals a brute-force comparison of two full iterations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(editArb, { maxLength: 2_500 }),
        fc.oneof(fc.constant('same'), fc.constant('far'), fc.constant('near')),
        fc.array(editArb, { maxLength: 40 }),
        fc.array(editArb, { maxLength: 2_500 }),
        fc.option(fc.tuple(keyArb, keyArb), { nil: undefined }),
        async (base, kind, near, far, range) => {
          const tree = newTree();
          const a = await tree.mutate(EMPTY_ROOT, base);
          const b = kind === 'same' ? a : kind === 'near' ? await tree.mutate(a, near) : await tree.mutate(EMPTY_ROOT, far);
          const [ea, eb] = [await allEntries(tree, a), await allEntries(tree, b)];
          let want = bruteForce(ea, eb);
          let opts = {};
          if (range) {
            const [lo, hi] = compareBytes(range[0], range[1]) <= 0 ? range : [range[1], range[0]];
            opts = { gte: lo, lt: hi };
            want = want.filter((d) => compareBytes(d.key, lo) >= 0 && compareBytes(d.key, hi) < 0);
          }
          expect(show(await collect(tree.diff(a, b, opts)))).toEqual(show(want));
          // And the other way round, sides swapped.
          const back = want.map((d) => ({ key: d.key, left: d.right, right: d.left }));
          expect(show(await collect(tree.diff(b, a, opts)))).toEqual(show(back));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reads nodes in proportion to the change: 1M entries, 10 keys apart', async () => {
    const next = prng(42);
    const tree = newTree();
    const builder = tree.builder();
    const keys: Uint8Array[] = [];
    // Sorted keys by construction: an 8-byte big-endian counter stride, then random bytes.
    for (let i = 0; i < 1_000_000; i++) {
      const key = randomKey(next, 32);
      const n = i * 4096;
      key[0] = Math.floor(n / 2 ** 32) & 0xff;
      key[1] = (n >>> 24) & 0xff;
      key[2] = (n >>> 16) & 0xff;
      key[3] = (n >>> 8) & 0xff;
      keys.push(key);
      builder.add(key, randomKey(next, 64));
    }
    const a = await builder.finish();
    const edits: Edit[] = [];
    for (let i = 0; i < 10; i++) {
      const idx = (next() % 1_000_000) | 0;
      edits.push(i % 2 === 0 ? { type: 'put', key: keys[idx]!, value: new Uint8Array([i]) } : { type: 'del', key: keys[idx]! });
    }
    const b = await tree.mutate(a, edits);
    const height = (await tree.nodes.root(a)).level + 1;
    const before = tree.stats.reads;
    const diff = await collect(tree.diff(a, b));
    const reads = tree.stats.reads - before;
    expect(diff.length).toBe(10);
    // Each change costs at most a few nodes per level on each side: far below the ~25k leaves.
    expect(reads).toBeLessThanOrEqual(10 * 2 * 3 * height);

    const changed = await collect(tree.changedNodes(a, b));
    const added = changed.filter((c) => c.side === 'right').map((c) => bytesToHex(c.hash));
    // Every node new in b is one the mutation wrote; none of them is in a.
    const inA = new Set<string>();
    for await (const h of tree.reachableNodes(b)) inA.add(bytesToHex(h));
    for (const h of added) expect(inA.has(h)).toBe(true);
    expect(added.length).toBeGreaterThan(0);
    expect(added.length).toBeLessThanOrEqual(10 * 3 * height);

    // Identical roots: nothing read at all.
    const again = tree.stats.reads;
    expect(await collect(tree.diff(a, a))).toEqual([]);
    expect(tree.stats.reads).toBe(again);
  });
});
