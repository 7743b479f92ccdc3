// The collector's node-level diff: every node only one tree has is reported on its side, and a
// node reported on both sides is in both trees.
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, Tree, type Edit, type Hash } from '@cafs/kv';
import { nodeDiff } from '../src/gc.js';
import { Prng, hex } from './gc-helpers.js';

async function nodesOf(tree: Tree, root: Hash): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const h of tree.reachableNodes(root)) out.add(hex(h));
  return out;
}

describe('nodeDiff', () => {
  it('reports a superset of each side, exact where reported twice, on random trees and edits', async () => {
    const rnd = new Prng(42);
    const tree = new Tree(new MemoryBlobStore());
    const key = (i: number): Uint8Array => new TextEncoder().encode(`k${String(i).padStart(6, '0')}`);
    const value = (): Uint8Array => rnd.bytes(8 + rnd.below(120));
    let root = await tree.build(Array.from({ length: 20_000 }, (_, i) => ({ key: key(i * 3), value: value() })));
    const roots = [root];
    for (let round = 0; round < 30; round++) {
      const edits: Edit[] = [];
      const n = [1, 3, 10, 100, 2000][round % 5]!;
      for (let j = 0; j < n; j++) {
        const k = key(rnd.below(70_000));
        edits.push(rnd.below(3) === 0 ? { type: 'del', key: k } : { type: 'put', key: k, value: value() });
      }
      root = await tree.mutate(root, edits);
      if (round % 7 === 6) root = await tree.deleteRange(root, { gte: key(rnd.below(60_000)), lt: key(rnd.below(70_000)) });
      roots.push(root);
    }
    for (let t = 0; t < 40; t++) {
      const a = rnd.pick(roots);
      const b = rnd.pick(roots);
      const left = new Set<string>();
      const right = new Set<string>();
      await nodeDiff(tree, a, b, (side, h) => (side === 'left' ? left : right).add(hex(h)));
      const na = await nodesOf(tree, a);
      const nb = await nodesOf(tree, b);
      for (const id of na) if (!nb.has(id)) expect(left.has(id)).toBe(true);
      for (const id of nb) if (!na.has(id)) expect(right.has(id)).toBe(true);
      for (const id of left) {
        expect(na.has(id)).toBe(true);
        if (right.has(id)) expect(nb.has(id)).toBe(true);
      }
      for (const id of right) expect(nb.has(id)).toBe(true);
      // Cheap: a small change reports few nodes.
      if (a === b) expect(left.size + right.size).toBe(0);
    }
  });
});
