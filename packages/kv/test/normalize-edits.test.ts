import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../src/node.js';
import { bytesToHex, compareBytes } from '../src/bytes.js';
import type { Edit } from '../src/tree/entry.js';
import { normalizeEdits } from '../src/tree/tree.js';

/** The reference: a stable comparison sort, then the last edit of each key. */
function reference(edits: Edit[]): [string, string | undefined][] {
  const sorted = edits.map((e, i) => ({ e, i })).sort((a, b) => compareBytes(a.e.key, b.e.key) || a.i - b.i);
  const out: [string, string | undefined][] = [];
  for (const { e } of sorted) {
    const item: [string, string | undefined] = [bytesToHex(e.key), e.type === 'put' ? bytesToHex(e.value) : undefined];
    if (out.length > 0 && out[out.length - 1]![0] === item[0]) out[out.length - 1] = item;
    else out.push(item);
  }
  return out;
}

// Keys with a shared head (sometimes long), a tail over a tiny alphabet and lengths around the
// four-byte steps of the radix sort, so that ties, zero padding and recursion all happen.
const keyArb = fc
  .tuple(fc.constantFrom(0, 3, 4, 5, 9), fc.uint8Array({ minLength: 0, maxLength: 10, max: 2 }))
  .map(([head, tail]) => {
    const k = new Uint8Array(head + tail.length);
    k.fill(7, 0, head);
    k.set(tail, head);
    return k;
  });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: fc.uint8Array({ maxLength: 2 }) }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
);

describe('normalizeEdits', () => {
  it('sorts stably by key and keeps the last edit of each key, for small and large batches', () => {
    fc.assert(
      fc.property(fc.array(editArb, { maxLength: 2500, size: 'max' }), (edits) => {
        const got = normalizeEdits(edits).map((e): [string, string | undefined] => [bytesToHex(e.key), e.value === undefined ? undefined : bytesToHex(e.value)]);
        expect(got).toEqual(reference(edits));
      }),
      { numRuns: 150 },
    );
  });

  it('sorts a large batch of random 32-byte keys', () => {
    const edits: Edit[] = Array.from({ length: 20_000 }, (_, i) => {
      const key = new Uint8Array(32);
      for (let j = 0; j < 32; j++) key[j] = (Math.imul(i + 1, 2654435761 + j) >>> (j % 24)) & 0xff;
      return { type: 'put', key, value: new Uint8Array([i & 0xff]) };
    });
    const got = normalizeEdits(edits).map((e): [string, string | undefined] => [bytesToHex(e.key), bytesToHex(e.value!)]);
    expect(got).toEqual(reference(edits));
  });
});
