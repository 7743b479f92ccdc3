import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Encoder } from 'cbor-x';
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

const bytesOf = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const fullInfo: fc.Arbitrary<Info> = fc
  .tuple(
    info,
    fc.constantFrom('file' as const, 'directory' as const, 'symlink' as const, 'fifo' as const, 'socket' as const, 'chardev' as const, 'blockdev' as const),
    fc.option(fc.oneof(bytesOf(30), bytesOf(70000)), { nil: undefined }),
    fc.array(fc.record({ name: bytesOf(300), value: fc.oneof(bytesOf(20), bytesOf(66000)) }), { maxLength: 30 }),
    fc.option(fc.bigInt({ min: MIN_TIME_NS, max: MAX_TIME_NS }), { nil: undefined }),
    fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    fc.option(fc.array(bytesOf(300), { minLength: 1, maxLength: 30 }), { nil: undefined }),
  )
  .map(([i, type, target, xattrs, atimeNs, rdev, links]) => {
    const out: Info = { ...i, type, target, xattrs };
    if (type !== 'directory' && links !== undefined) out.links = links;
    // Canonical: an access time equal to mtime is not stored, so it does not read back.
    if (atimeNs !== undefined && atimeNs !== i.mtimeNs) out.atimeNs = atimeNs;
    if (type === 'chardev' || type === 'blockdev') out.rdev = rdev;
    return out;
  });

/** Byte strings as plain arrays, so Buffers and Uint8Arrays compare alike. */
const plain = (x: Info) => ({ ...x, target: x.target && [...x.target], xattrs: x.xattrs.map((a) => [[...a.name], [...a.value]]), links: x.links?.map((l) => [...l]) });

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
    expect(plain(decodeInfo(bytes))).toEqual(plain(i));
  });

  it('the hand-written codec writes exactly what cbor-x writes, and reads both its own and older records', () => {
    // Older records: cbor-x given plain numbers wrote integers from 2^32 to 2^53 as float64.
    const old = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false, variableMapSize: true });
    const codes = { directory: 0, file: 1, symlink: 2, fifo: 3, socket: 4, chardev: 5, blockdev: 6 };
    const device = (i: Info): boolean => i.type === 'chardev' || i.type === 'blockdev';
    /** The optional trailing fields [atime, rdev, links], as many as the last present one needs, null for absent ones. */
    const tail = (i: Info, conv: (n: bigint) => number | bigint): unknown[] => {
      const fields = [i.atimeNs === undefined ? null : conv(i.atimeNs), device(i) ? conv(BigInt(i.rdev ?? 0)) : null, i.links ?? null];
      while (fields.length > 0 && fields[fields.length - 1] === null) fields.pop();
      return fields;
    };
    const asNumber = (n: bigint): number | bigint => (n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n);
    fc.assert(
      fc.property(fullInfo, (i) => {
        const bytes = encodeInfo(i);
        // cbor-x writes a number in [-2^32, 2^32) as an integer, a bigint always in 8 bytes.
        const asInt = (n: bigint): number | bigint => (n >= -(2n ** 32n) && n < 2n ** 32n ? Number(n) : n);
        const generic = old.encode([
          codes[i.type], i.mode, i.uid, i.gid, asInt(i.mtimeNs), asInt(i.ctimeNs), asInt(i.size), asInt(i.allocated),
          i.target ?? null, i.xattrs.map((x) => [x.name, x.value]), ...tail(i, asInt),
        ]) as Uint8Array;
        expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(generic).toString('hex'));
        expect(plain(decodeInfo(bytes))).toEqual(plain(i));
        const legacy = old.encode([
          codes[i.type], i.mode, i.uid, i.gid, asNumber(i.mtimeNs), asNumber(i.ctimeNs), asNumber(i.size), asNumber(i.allocated),
          i.target ?? null, i.xattrs.map((x) => [x.name, x.value]), ...tail(i, asNumber),
        ]) as Uint8Array;
        expect(plain(decodeInfo(legacy))).toEqual(plain(i));
      }),
      { numRuns: 300 },
    );
  });

  it('damaged records are ERR_CORRUPT_INFO, never a wrong answer', () => {
    const good = encodeInfo({ type: 'file', mode: 0o644, uid: 1, gid: 2, mtimeNs: 5n, ctimeNs: 6n, size: 0n, allocated: 0n, target: undefined, xattrs: [] });
    for (const bad of [good.subarray(0, good.length - 1), Uint8Array.of(...good, 0), Uint8Array.of(0x8a, 9, ...good.subarray(2)), Uint8Array.of(0x83, 1, 2, 3)]) {
      let code: string | undefined;
      try {
        decodeInfo(bad);
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(code).toBe('ERR_CORRUPT_INFO');
    }
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
