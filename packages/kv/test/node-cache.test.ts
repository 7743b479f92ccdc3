import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../src/node.js';
import { TreeNode, buildNode } from '../src/tree/node.js';
import { NodeCache } from '../src/tree/node-cache.js';

describe('NodeCache (CLOCK eviction)', () => {
  it('stays within its byte bound, never returns a wrong node, and keeps a hot node over cold ones', () => {
    // The cache is keyed by a 30-bit hash prefix: a third of these nodes get hashes that share
    // their first four bytes with another node's, so slots hold several nodes.
    const nodes: TreeNode[] = Array.from({ length: 40 }, (_, i) => {
      const built = buildNode(0, [new Uint8Array([i])], [new Uint8Array(i % 7)]);
      if (i % 3 !== 0) return built;
      const hash = built.hash.slice();
      hash.set([0xca, 0xf5, 0x00, i % 2]);
      return new TreeNode(hash, built.bytes, built.level, built.offsets);
    });
    const sizeOf = (n: TreeNode): number => 10 + n.bytes.length;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.record({ set: fc.boolean(), i: fc.integer({ min: 0, max: nodes.length - 1 }) }), { maxLength: 300 }),
        (max, ops) => {
          const cache = new NodeCache(max, sizeOf);
          for (const op of ops) {
            const node = nodes[op.i]!;
            if (op.set) {
              cache.set(node);
              // A node is never the victim of its own insertion (when it fits at all).
              if (sizeOf(node) <= max) expect(cache.get(node.hash)).toBe(node);
            } else {
              const got = cache.get(node.hash);
              if (got !== undefined) expect(got).toBe(node);
            }
            expect(cache.bytes).toBeLessThanOrEqual(max);
          }
          let sum = 0;
          for (const n of nodes) if (cache.get(n.hash) !== undefined) sum += sizeOf(n);
          expect(sum).toBe(cache.bytes);
          // A lookup takes the hash where it lies, inside a bigger buffer.
          for (const n of nodes) {
            const inside = new Uint8Array(40);
            inside.set(n.hash, 5);
            expect(cache.get(inside, 5)).toBe(cache.get(n.hash));
          }
        },
      ),
      { numRuns: 300 },
    );
    // A node read between every insertion survives a stream of nodes read once.
    const cache = new NodeCache(5 * (10 + nodes[0]!.bytes.length + 6), sizeOf);
    const hot = nodes[0]!;
    cache.set(hot);
    for (let i = 1; i < nodes.length; i++) {
      expect(cache.get(hot.hash)).toBe(hot);
      cache.set(nodes[i]!);
    }
    expect(cache.get(hot.hash)).toBe(hot);
  });
});
