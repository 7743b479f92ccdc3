// The Info record stored at every path's info key (docs/format.md, "Info").
import { decode } from 'cbor-x';
import { cborHeadLength, compareBytes, writeCborHead } from '@cafs/kv';

export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

const TYPE_CODES: Record<FileType, number> = { directory: 0, file: 1, symlink: 2, fifo: 3, socket: 4, chardev: 5, blockdev: 6 };
const TYPES: FileType[] = ['directory', 'file', 'symlink', 'fifo', 'socket', 'chardev', 'blockdev'];

/** The entries mknod makes: no data, what flows through them is the kernel's business. */
export type SpecialType = 'fifo' | 'socket' | 'chardev' | 'blockdev';
export const SPECIAL_TYPES: readonly FileType[] = ['fifo', 'socket', 'chardev', 'blockdev'];

/** Device nodes: the types that carry a device number. */
export const isDevice = (t: FileType): boolean => t === 'chardev' || t === 'blockdev';

/** An extended attribute: name and value, both raw bytes. */
export interface Xattr {
  name: Uint8Array;
  value: Uint8Array;
}

export interface Info {
  type: FileType;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Logical size in bytes (files: content length; symlinks: target length; directories: 0). */
  size: bigint;
  /** Bytes stored for the content (holes excluded): what `blocks` reports. */
  allocated: bigint;
  /** Symbolic link target. */
  target: Uint8Array | undefined;
  /** Extended attributes, sorted by name. */
  xattrs: Xattr[];
  /**
   * Access time, when set explicitly (utimensat, touch -a, tar x); undefined reads as mtimeNs.
   * Reads never set it. One equal to mtimeNs is not stored.
   */
  atimeNs?: bigint | undefined;
  /** Device nodes: the device number, as Linux's dev_t (makedev(major, minor)); 0 for others. */
  rdev?: number | undefined;
}

/** Times are signed 64-bit nanoseconds (1677 to 2262), as Linux keeps them. */
export const MIN_TIME_NS = -(2n ** 63n);
export const MAX_TIME_NS = 2n ** 63n - 1n;

const U32 = 2n ** 32n;
const big = (x: unknown): bigint => (typeof x === 'bigint' ? x : BigInt(x as number));

/** The explicit access time as stored: none when it equals the modification time. */
const storedAtime = (info: Info): bigint | undefined =>
  info.atimeNs === undefined || info.atimeNs === info.mtimeNs ? undefined : info.atimeNs;

/**
 * CBOR array: [type, mode, uid, gid, mtimeNs, ctimeNs, size, allocated, target|null,
 * [[name, value], ...]] with type 0 directory, 1 file, 2 symlink, 3 fifo, 4 socket, 5 character
 * device, 6 block device; then atimeNs when one is stored (11 elements), and for a device
 * atimeNs|null and rdev (12 elements): a record without either is what it always was. Written by
 * hand: CBOR integers in shortest form, byte for byte what cbor-x writes given numbers inside
 * [-2^32, 2^32) and bigints beyond (it writes larger numbers as float64s, any bigint in 8 bytes;
 * a test compares the two). Every stat and every change of a mount encodes or decodes one.
 */
export function encodeInfo(info: Info): Uint8Array {
  const target = info.target;
  let size = 1 + intBytes(TYPE_CODES[info.type]) + intBytes(info.mode) + intBytes(info.uid) + intBytes(info.gid);
  size += bigIntBytes(info.mtimeNs) + bigIntBytes(info.ctimeNs) + bigIntBytes(info.size) + bigIntBytes(info.allocated);
  size += target === undefined ? 1 : cborHeadLength(target.length) + target.length;
  size += cborHeadLength(info.xattrs.length);
  for (const x of info.xattrs) size += 1 + cborHeadLength(x.name.length) + x.name.length + cborHeadLength(x.value.length) + x.value.length;
  const atime = storedAtime(info);
  const device = isDevice(info.type);
  const rdev = device ? (info.rdev ?? 0) : 0;
  if (device) size += (atime === undefined ? 1 : bigIntBytes(atime)) + intBytes53(rdev);
  else if (atime !== undefined) size += bigIntBytes(atime);
  const out = new Uint8Array(size);
  let pos = 0;
  out[pos++] = device ? 0x8c : atime !== undefined ? 0x8b : 0x8a;
  pos = writeCborHead(out, pos, 0, TYPE_CODES[info.type]);
  pos = writeCborHead(out, pos, 0, info.mode);
  pos = writeCborHead(out, pos, 0, info.uid);
  pos = writeCborHead(out, pos, 0, info.gid);
  pos = writeBigInt(out, pos, info.mtimeNs);
  pos = writeBigInt(out, pos, info.ctimeNs);
  pos = writeBigInt(out, pos, info.size);
  pos = writeBigInt(out, pos, info.allocated);
  if (target === undefined) out[pos++] = 0xf6;
  else pos = writeBytes(out, pos, target);
  pos = writeCborHead(out, pos, 4, info.xattrs.length);
  for (const x of info.xattrs) {
    out[pos++] = 0x82;
    pos = writeBytes(out, pos, x.name);
    pos = writeBytes(out, pos, x.value);
  }
  if (atime !== undefined) pos = writeBigInt(out, pos, atime);
  else if (device) out[pos++] = 0xf6;
  if (device) pos = writeBigInt(out, pos, BigInt(rdev));
  return out;
}

/** Bytes of a device number (a safe unsigned integer: dev_t is 64 bits, its numbers are small). */
function intBytes53(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`device number ${n} is not a safe unsigned integer`);
  return bigIntBytes(BigInt(n));
}

/** Bytes of an unsigned integer below 2^32 (numbers here always are: mode, ids, type). */
function intBytes(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`info field ${n} is not a 32-bit unsigned integer`);
  return cborHeadLength(n);
}

function bigIntBytes(n: bigint): number {
  if (n >= 0n) return n < U32 ? cborHeadLength(Number(n)) : 9;
  return n >= -U32 ? cborHeadLength(Number(-1n - n)) : 9;
}

function writeBigInt(out: Uint8Array, pos: number, n: bigint): number {
  const major = n >= 0n ? 0 : 1;
  const arg = n >= 0n ? n : -1n - n;
  if (arg < U32) return writeCborHead(out, pos, major, Number(arg));
  if (arg >= 2n ** 64n) throw new RangeError(`info field ${n} does not fit 64 bits`);
  out[pos] = (major << 5) | 27;
  const hi = Number(arg >> 32n);
  const lo = Number(arg & 0xffffffffn);
  for (let i = 0; i < 4; i++) out[pos + 1 + i] = (hi >>> (24 - 8 * i)) & 0xff;
  for (let i = 0; i < 4; i++) out[pos + 5 + i] = (lo >>> (24 - 8 * i)) & 0xff;
  return pos + 9;
}

function writeBytes(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  pos = writeCborHead(out, pos, 2, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

export class CorruptInfoError extends Error {
  readonly code = 'ERR_CORRUPT_INFO';
}

/**
 * Reads an info record. The shape encodeInfo writes is parsed by hand; anything else (older
 * records with float64 integers or bignums) goes through cbor-x as before.
 */
export function decodeInfo(bytes: Uint8Array): Info {
  return decodeCanonical(bytes) ?? decodeGeneric(bytes);
}

/** Unsigned (or, for times, signed) integers and byte strings in definite forms; else undefined. */
function decodeCanonical(bytes: Uint8Array): Info | undefined {
  let pos = 0;
  let ok = true;
  let view: DataView | undefined;
  /** The argument of the head at pos with the given major type (-1 when it is something else). */
  const head = (major: number): number => {
    if (pos >= bytes.length) return (ok = false), -1;
    const b = bytes[pos]!;
    if (b >> 5 !== major) return (ok = false), -1;
    const info = b & 31;
    if (info < 24) {
      pos += 1;
      return info;
    }
    const len = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (len === 0 || pos + 1 + len > bytes.length) return (ok = false), -1;
    let n = 0;
    for (let i = 1; i <= len; i++) n = n * 256 + bytes[pos + i]!;
    pos += 1 + len;
    return n;
  };
  const bigint = (): bigint => {
    if (pos >= bytes.length) return (ok = false), 0n;
    const b = bytes[pos]!;
    const major = b >> 5;
    if (major > 1) return (ok = false), 0n;
    let arg: bigint;
    if ((b & 31) === 27) {
      if (pos + 9 > bytes.length) return (ok = false), 0n;
      // Times in nanoseconds take this form: one native read, not three BigInt operations.
      view ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      arg = view.getBigUint64(pos + 1);
      pos += 9;
    } else {
      const n = head(major);
      if (!ok) return 0n;
      arg = BigInt(n);
    }
    return major === 0 ? arg : -1n - arg;
  };
  const byteString = (): Uint8Array => {
    const n = head(2);
    if (!ok || pos + n > bytes.length) return (ok = false), EMPTY;
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const length = bytes[pos++];
  if (length !== 0x8a && length !== 0x8b && length !== 0x8c) return undefined;
  const type = TYPES[head(0)];
  const mode = head(0);
  const uid = head(0);
  const gid = head(0);
  const mtimeNs = bigint();
  const ctimeNs = bigint();
  const size = bigint();
  const allocated = bigint();
  let target: Uint8Array | undefined;
  if (bytes[pos] === 0xf6) pos++;
  else target = byteString();
  const n = head(4);
  if (!ok || type === undefined) return undefined;
  const xattrs: Xattr[] = [];
  for (let i = 0; i < n && ok; i++) {
    if (bytes[pos++] !== 0x82) return undefined;
    const name = byteString();
    const value = byteString();
    xattrs.push({ name, value });
  }
  const info: Info = { type, mode, uid, gid, mtimeNs, ctimeNs, size, allocated, target, xattrs };
  if (length >= 0x8b) {
    if (length === 0x8c && bytes[pos] === 0xf6) pos++;
    else info.atimeNs = bigint();
  }
  if (length === 0x8c) {
    const rdev = bigint();
    if (rdev < 0n || rdev > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    info.rdev = Number(rdev);
  }
  // Devices, and only they, have 12 elements (the generic decoder reports the mismatch).
  if (!ok || pos !== bytes.length || (length === 0x8c) !== isDevice(type)) return undefined;
  return info;
}

const EMPTY = new Uint8Array(0);

/** The type of an info record, without decoding the rest (directory checks on every lookup). */
export function infoType(bytes: Uint8Array): FileType {
  // [type, ...] with type below 24: the array head (10 to 12 elements), then the type in one byte.
  if (bytes.length > 1 && bytes[0]! >= 0x8a && bytes[0]! <= 0x8c && bytes[1]! < TYPES.length) return TYPES[bytes[1]!]!;
  return decodeInfo(bytes).type;
}

function decodeGeneric(bytes: Uint8Array): Info {
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (err) {
    throw new CorruptInfoError('an info record is not valid CBOR', { cause: err });
  }
  if (!Array.isArray(v) || v.length < 10 || v.length > 12) throw new CorruptInfoError('an info record has the wrong shape');
  const [type, mode, uid, gid, mtime, ctime, size, allocated, target, xattrs, atime, rdev] = v as unknown[];
  const t = TYPES[type as number];
  if (t === undefined) throw new CorruptInfoError(`unknown file type ${String(type)}`);
  if ((v.length === 12) !== isDevice(t)) throw new CorruptInfoError(`a ${t} record has ${v.length} fields`);
  return {
    ...(atime === undefined || atime === null ? {} : { atimeNs: big(atime) }),
    ...(rdev === undefined ? {} : { rdev: Number(rdev) }),
    type: t,
    mode: mode as number,
    uid: uid as number,
    gid: gid as number,
    mtimeNs: big(mtime),
    ctimeNs: big(ctime),
    size: big(size),
    allocated: big(allocated),
    target: target === null ? undefined : (target as Uint8Array),
    xattrs: (xattrs as [Uint8Array, Uint8Array][]).map(([name, value]) => ({ name, value })),
  };
}

export function sortXattrs(xattrs: Xattr[]): Xattr[] {
  return xattrs.sort((a, b) => compareBytes(a.name, b.name));
}
