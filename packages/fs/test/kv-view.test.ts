import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, NOT_CACHED, Tree, type Hash } from '@cafs/kv';
import { Txn, TreeReader } from '../src/kv-view.js';

// Reads through a chain of forked Txns (each layered on the one before, as a mount layers a
// change on the unmade roots before it) against a model: one Map per layer.
type Op = { kind: 'put' | 'del' | 'delRange' | 'fork'; k: number; j: number; v: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('put' as const, 'put' as const, 'put' as const, 'del' as const, 'delRange' as const, 'fork' as const),
  k: fc.nat(399),
  j: fc.nat(40),
  v: fc.nat(1000),
});

const key = (i: number): Uint8Array => new TextEncoder().encode(`k${String(i).padStart(4, '0')}`);
const val = (v: number): Uint8Array => new TextEncoder().encode(`v${v}`);
const show = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('Txn reads through overlays and forks', () => {
  it('get and peek agree with a model, before and after the chain is flushed', async () => {
    const store = new MemoryBlobStore();
    const tree = new Tree(store);
    // A base tree of 600 keys and writes among the first 440: reads past an overlay's last
    // written key (past its sorted map's last leaf) fall through to the tree.
    const baseEntries = Array.from({ length: 600 }, (_, i) => ({ key: key(i), value: val(i) }));
    const base: Hash = await tree.build(baseEntries);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 50, maxLength: 400, size: 'max' }), async (ops) => {
        const model = new Map<number, string>(baseEntries.map((_, i) => [i, `v${i}`]));
        const chain: Txn[] = [new Txn(tree, base)];
        for (const o of ops) {
          const top = chain[chain.length - 1]!;
          if (o.kind === 'put') {
            top.put(key(o.k), val(o.v));
            model.set(o.k, `v${o.v}`);
          } else if (o.kind === 'del') {
            top.del(key(o.k));
            model.delete(o.k);
          } else if (o.kind === 'delRange') {
            top.deleteRange(key(o.k), key(o.k + o.j));
            for (let i = o.k; i < o.k + o.j; i++) model.delete(i);
          } else if (chain.length < 8) {
            chain.push(top.fork());
          }
        }
        const top = chain[chain.length - 1]!;
        for (let i = 0; i < 620; i++) {
          const want = model.get(i);
          expect(show(await top.get(key(i)))).toBe(want);
          const now = top.peek(key(i));
          if (now !== NOT_CACHED) expect(show(now)).toBe(want);
        }
        // Flushed in order, each onto the root before: the last root holds the model.
        let root: Hash = base;
        for (const t of chain) root = await t.flush();
        const reader = new TreeReader(tree, root);
        for (let i = 0; i < 620; i++) {
          expect(show(await reader.get(key(i)))).toBe(model.get(i));
          expect(show(await top.get(key(i)))).toBe(model.get(i));
        }
      }),
      // Long op lists shrink slowly; the first counterexample is readable enough.
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('peek answers from cached nodes and NOT_CACHED when a node must be loaded', async () => {
    const store = new MemoryBlobStore();
    const root = await new Tree(store).build(Array.from({ length: 3000 }, (_, i) => ({ key: key(i), value: val(i) })));
    // A fresh Tree over the same store has nothing cached.
    const cold = new TreeReader(new Tree(store), root);
    expect(cold.peek(key(7))).toBe(NOT_CACHED);
    expect(show(await cold.get(key(7)))).toBe('v7');
    expect(show(cold.peek(key(7)) as Uint8Array)).toBe('v7');
    expect(cold.peek(new TextEncoder().encode('k00071'))).toBeUndefined();
  });
});
