import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TIME_NS, MIN_TIME_NS, decodeInfo, encodeInfo, type Info } from '../src/info.js';
import { codeOf, newFs } from './helpers.js';

/** Bytes of a CBOR integer in shortest form (major type 0, or 1 for negatives). */
function intBytes(n: bigint): number {
  const m = n < 0n ? -1n - n : n;
  return m < 24n ? 1 : m < 0x100n ? 2 : m < 0x10000n ? 3 : m < 0x100000000n ? 5 : 9;
}

const byteString = (n: number): number => (n < 24 ? 1 : n < 0x100 ? 2 : 3) + n;

const info: fc.Arbitrary<Info> = fc.record({
  type: fc.constantFrom('file' as const, 'directory' as const, 'fifo' as const),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 0xffffffff }),
  gid: fc.integer({ min: 0, max: 0xffffffff }),
  mtimeNs: fc.bigInt({ min: MIN_TIME_NS, max: MAX_TIME_NS }),
  ctimeNs: fc.oneof(fc.bigInt({ min: -(2n ** 34n), max: 2n ** 34n }), fc.bigInt({ min: MIN_TIME_NS, max: MAX_TIME_NS })),
  size: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
  allocated: fc.bigInt({ min: 0n, max: 2n ** 60n }),
  target: fc.constant(undefined),
  xattrs: fc.constant([]),
});

describe('info records', () => {
  it('integers are CBOR integers in shortest form, never floats, and read back exactly', () => {
    fc.assert(
      fc.property(info, (i) => {
        const bytes = encodeInfo(i);
        const ints = [BigInt(i.mode), BigInt(i.uid), BigInt(i.gid), i.mtimeNs, i.ctimeNs, i.size, i.allocated];
        // Array header, type, the seven integers, null target, empty xattr list.
        expect(bytes.length).toBe(1 + 1 + ints.reduce((a, n) => a + intBytes(n), 0) + 1 + 1);
        expect(decodeInfo(bytes)).toEqual(i);
      }),
      { numRuns: 500 },
    );
  });

  it('byte strings and xattrs round-trip', () => {
    const i: Info = {
      type: 'symlink', mode: 0o777, uid: 1, gid: 2, mtimeNs: 3n, ctimeNs: 4n, size: 3n, allocated: 0n,
      target: Uint8Array.of(0x61, 0x62, 0x63),
      xattrs: [{ name: new TextEncoder().encode('user.x'), value: new Uint8Array(300) }],
    };
    const bytes = encodeInfo(i);
    expect(bytes.length).toBe(1 + 1 + 3 + 1 + 1 + 1 + 1 + 1 + 1 + byteString(3) + 1 + 1 + byteString(6) + byteString(300));
    const back = decodeInfo(bytes);
    // Byte strings come back as views (Buffers under Node): compare their bytes.
    const plain = (x: Info) => ({ ...x, target: [...x.target!], xattrs: x.xattrs.map((a) => [[...a.name], [...a.value]]) });
    expect(plain(back)).toEqual(plain(i));
  });

  it('times a stored record cannot hold are refused with EINVAL', async () => {
    const fs = newFs();
    const root = await fs.writeFile(await fs.mkfs(), '/f', 'x');
    expect(await codeOf(fs.utimes(root, '/f', 0, 2n ** 63n))).toBe('EINVAL');
    expect(await codeOf(fs.utimes(root, '/f', 0, -(2n ** 63n) - 1n))).toBe('EINVAL');
    expect(await codeOf(fs.writeFile(root, '/g', 'y', { mtime: 1e13 }))).toBe('EINVAL');
    const before1970 = await fs.utimes(root, '/f', 0, new Date(-86_400_000));
    expect((await fs.stat(before1970, '/f')).mtimeNs).toBe(-86_400_000_000_000n);
  });
});
