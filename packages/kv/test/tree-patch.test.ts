import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes.js';
import { EMPTY_ROOT } from '../src/tree/tree.js';
import type { Edit } from '../src/tree/entry.js';
import { ModelMap, newTree, prng, randomKey } from './helpers.js';

// Single puts take a fast path when they overwrite a value with one of the same length, at
// the leaf and at every level above (a child's new hash under the same max key); and single
// puts and deletes that leave the leaf one node with the same largest key skip the general
// mutate (src/tree/leaf-edits.ts). Check both against a rebuild on trees of several levels,
// mixed with puts and deletes that split, merge or move a leaf's bound.
/** A tree of `n` random entries (keys of keyLength bytes, values of valueLength) and its model. */
async function randomTree(next: () => number, n: number, keyLength: number, valueLength: number) {
  const tree = newTree();
  const model = new ModelMap();
  for (let i = 0; i < n; i++) model.put(randomKey(next, keyLength), randomKey(next, valueLength));
  return { tree, model, root: await tree.build(model.sorted()) };
}

/** A PRNG seed for a property run. */
const SEED = fc.integer({ min: 1, max: 2 ** 31 - 1 });

/** The root must be the one a fresh build of the model's entries gives. */
async function expectRebuildRoot(model: ModelMap, root: Uint8Array): Promise<void> {
  const want = model.size === 0 ? EMPTY_ROOT : await newTree().build(model.sorted());
  expect(bytesToHex(root)).toBe(bytesToHex(want));
}

describe('single-put fast path (patched nodes)', () => {
  it('gives the root a rebuild gives, after every put and delete', async () => {
    await fc.assert(
      fc.asyncProperty(
        SEED,
        fc.integer({ min: 0, max: 6000 }),
        fc.array(
          fc.record({
            kind: fc.constantFrom('same-length' as const, 'other-length' as const, 'new' as const, 'del' as const, 'same-value' as const),
            pick: fc.nat(),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (seed, n, ops) => {
          const next = prng(seed);
          const tree = newTree();
          const model = new ModelMap();
          const keys = Array.from({ length: n }, () => randomKey(next, 4 + (next() % 20)));
          for (const k of keys) model.put(k, new Uint8Array(8).fill(k[0]!));
          let root = await tree.build(model.sorted());
          for (const op of ops) {
            const live = model.sorted();
            if (op.kind === 'new' || live.length === 0) {
              const k = randomKey(next, 4 + (next() % 20));
              const v = new Uint8Array(8).fill(op.byte);
              root = await tree.put(root, k, v);
              model.put(k, v);
            } else {
              const { key, value } = live[op.pick % live.length]!;
              if (op.kind === 'del') {
                root = await tree.delete(root, key);
                model.delete(key);
              } else {
                const v =
                  op.kind === 'same-value' ? value.slice() : new Uint8Array(op.kind === 'same-length' ? value.length : value.length + 1 + (op.byte % 3)).fill(op.byte);
                root = await tree.put(root, key, v);
                model.put(key, v);
              }
            }
            await expectRebuildRoot(model, root);
          }
          for (const { key, value } of model.sorted().slice(0, 50)) expect(bytesToHex((await tree.get(root, key))!)).toBe(bytesToHex(value));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('new keys and deletes, one at a time, give the root a rebuild gives (splits and merges included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        SEED,
        fc.integer({ min: 0, max: 8000 }),
        fc.array(fc.record({ del: fc.boolean(), pick: fc.nat(), last: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        async (seed, n, ops) => {
          const next = prng(seed);
          const t = await randomTree(next, n, 16, 24);
          const { tree, model } = t;
          let root = t.root;
          for (const op of ops) {
            const live = model.sorted();
            if (op.del && live.length > 0) {
              // Now and then the largest key of the tree or of a leaf: bounds move.
              const { key } = live[op.last ? live.length - 1 : op.pick % live.length]!;
              root = await tree.delete(root, key);
              model.delete(key);
            } else {
              const key = op.last ? new Uint8Array(17).fill(0xff) : randomKey(next, 16);
              const value = randomKey(next, 24);
              root = await tree.put(root, key, value);
              model.put(key, value);
            }
            await expectRebuildRoot(model, root);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('a new key inside a leaf of a cached tree writes one node per level', async () => {
    const next = prng(7);
    const t = await randomTree(next, 20_000, 16, 24);
    const { tree, model } = t;
    let root = t.root;
    let depth = 0;
    const first = model.sorted()[0]!.key;
    for (let node = await tree.nodes.root(root); ; node = await tree.nodes.child(node, node.childIndexFor(first))) {
      depth++;
      if (node.level === 0) break;
    }
    expect(depth).toBeGreaterThanOrEqual(3);
    let single = 0;
    for (let i = 0; i < 200; i++) {
      const key = randomKey(next, 16);
      const before = tree.stats.writes;
      root = await tree.put(root, key, randomKey(next, 24));
      if (tree.stats.writes - before === depth) single++;
    }
    // Most new keys split nothing (a boundary key is a ~1 in 40 chance).
    expect(single).toBeGreaterThan(150);
  });

  it('small batches in one leaf (and some across leaves) give the root a rebuild gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        SEED,
        fc.integer({ min: 0, max: 6000 }),
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 12 }),
            spread: fc.constantFrom(1, 3, 50, 5000),
            delShare: fc.integer({ min: 0, max: 10 }),
            noop: fc.boolean(),
          }),
          { minLength: 1, maxLength: 15 },
        ),
        async (seed, n, batches) => {
          const next = prng(seed);
          const t = await randomTree(next, n, 12, 20);
          const { tree, model } = t;
          let root = t.root;
          for (const b of batches) {
            const live = model.sorted();
            const at = live.length === 0 ? 0 : next() % live.length;
            const edits: Edit[] = [];
            for (let j = 0; j < b.size; j++) {
              // Keys near one another (spread small: most often one leaf), existing or new.
              const near = live.length === 0 ? undefined : live[Math.min(live.length - 1, at + (next() % b.spread))]!;
              if (near !== undefined && next() % 10 < b.delShare) {
                edits.push({ type: 'del', key: near.key });
              } else if (near !== undefined && next() % 2 === 0) {
                edits.push({ type: 'put', key: near.key, value: b.noop ? near.value.slice() : randomKey(next, 20 + (next() % 3)) });
              } else {
                const key = near === undefined ? randomKey(next, 12) : Uint8Array.from([...near.key, next() % 256]);
                edits.push({ type: 'put', key, value: randomKey(next, 20) });
              }
            }
            root = await tree.mutate(root, edits);
            for (const e of edits) {
              if (e.type === 'put') model.put(e.key, e.value);
              else model.delete(e.key);
            }
            await expectRebuildRoot(model, root);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
