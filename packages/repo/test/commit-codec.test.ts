// The hand-written commit encoder against cbor-x, which wrote every commit before it, and the
// format vector of docs/format.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { decodeCommit, encodeCommit, type Commit } from '../src/commit.js';

const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });
/** What encodeCommit wrote with cbor-x: times as numbers where they are safe integers. */
const byCborX = (c: Commit): Uint8Array => {
  const t = c.timeNs <= BigInt(Number.MAX_SAFE_INTEGER) && c.timeNs >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(c.timeNs) : c.timeNs;
  return cbor.encode(['cafs-commit-v1', c.root, c.parents, t, c.message, c.author ?? null]) as Uint8Array;
};

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
const time = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }),
  fc.constantFrom(0n, 23n, 24n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, -1n, -24n, -25n, -(2n ** 32n), -(2n ** 32n) - 1n, 2n ** 53n - 1n, 2n ** 53n, 1_763_800_000_000_000_000n),
);
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 65530, max: 65540 }).map((n) => 'é'.repeat(n >> 1) + 'x'.repeat(n & 1)));
const commit: fc.Arbitrary<Commit> = fc.record({
  root: hash,
  parents: fc.array(hash, { maxLength: 30 }),
  timeNs: time,
  message: text,
  author: fc.option(text, { nil: undefined }),
});

describe('commit encoding', () => {
  it('is byte for byte what cbor-x wrote, and decodes back', () => {
    fc.assert(
      fc.property(commit, (c) => {
        const bytes = encodeCommit(c);
        expect(bytesToHex(bytes)).toBe(bytesToHex(byCborX(c)));
        const back = decodeCommit(bytes, 'x');
        expect(back).toEqual({ ...c, author: c.author });
      }),
      { numRuns: 200 },
    );
  });

  it('matches the vector in docs/format.md', () => {
    const c: Commit = {
      root: new Uint8Array(32).fill(0x11),
      parents: [new Uint8Array(32).fill(0x22)],
      timeNs: 1_763_800_000_000_000_000n,
      message: 'write /a',
      author: undefined,
    };
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');
    expect(doc).toContain(bytesToHex(encodeCommit(c)));
    expect(bytesToHex(encodeCommit(c))).toBe(
      '866e636166732d636f6d6d69742d763158201111111111111111111111111111111111111111111111111111111111111111' +
        '8158202222222222222222222222222222222222222222222222222222222222222222' +
        '1b187a46c146d58000' +
        '68777269746520' + '2f61' + 'f6',
    );
  });
});
