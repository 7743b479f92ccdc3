import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../src/node.js';
import { bytesToHex } from '../src/bytes.js';
import { MemoryBlobStore } from '../src/store/level-blob-store.js';

// Hashes over a tiny alphabet in their first bytes, so that the store's 30-bit prefix keys
// collide often and its chains are exercised.
const hashArb = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4, max: 1 }), fc.uint8Array({ minLength: 28, maxLength: 28, max: 2 }))
  .map(([a, b]) => {
    const h = new Uint8Array(32);
    h.set(a);
    h.set(b, 4);
    return h;
  });
const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), hash: hashArb, bytes: fc.uint8Array({ maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), hashes: fc.array(hashArb, { maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('probe' as const), hashes: fc.array(hashArb, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('list' as const) }) },
);

describe('MemoryBlobStore against a Map model', () => {
  it('puts, deletes, has, get and hashes agree with the model, prefix collisions included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        // verify off: the hashes here are made up, not digests of the bytes.
        const store = new MemoryBlobStore({ verify: false });
        const model = new Map<string, Uint8Array>();
        for (const op of ops) {
          if (op.op === 'put') {
            await store.putHashed([{ hash: op.hash, bytes: op.bytes }]);
            if (!model.has(bytesToHex(op.hash))) model.set(bytesToHex(op.hash), op.bytes);
          } else if (op.op === 'del') {
            await store.delete(op.hashes);
            for (const h of op.hashes) model.delete(bytesToHex(h));
          } else if (op.op === 'probe') {
            expect(await store.has(op.hashes)).toEqual(op.hashes.map((h) => model.has(bytesToHex(h))));
            for (const h of op.hashes) {
              const want = model.get(bytesToHex(h));
              if (want === undefined) await expect(store.get(h)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
              else expect(bytesToHex(await store.get(h))).toBe(bytesToHex(want));
            }
          } else {
            const listed: string[] = [];
            for await (const h of store.hashes()) listed.push(bytesToHex(h));
            expect(listed).toEqual([...model.keys()].sort());
          }
        }
        await store.close();
      }),
      { numRuns: 300 },
    );
  });
});
