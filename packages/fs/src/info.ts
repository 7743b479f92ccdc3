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
  /**
   * Hard links: the info keys of this inode's other names, sorted by bytes. The inode's info and
   * data live at its least name (this record's own key); each other name holds a link record
   * (encodeLinkRecord) naming this key. Undefined or empty: one name.
   */
  links?: Uint8Array[] | undefined;
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
 * device, 6 block device; then the optional fields [atimeNs, rdev, links], as many as the last
 * present one needs and null for an absent one before it: 11 elements with an access time, 12
 * for a device (its rdev), 13 for an inode with other names (a list of their info keys). A
 * record without any is what it always was. Written by
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
  const links = info.links !== undefined && info.links.length > 0 ? info.links : undefined;
  // Trailing fields [atime, rdev, links]: as many as the last present one needs, null for absent ones before it.
  const fields = links !== undefined ? 13 : device ? 12 : atime !== undefined ? 11 : 10;
  if (fields >= 11) size += atime === undefined ? 1 : bigIntBytes(atime);
  if (fields >= 12) size += device ? intBytes53(rdev) : 1;
  if (links !== undefined) {
    size += cborHeadLength(links.length);
    for (const l of links) size += cborHeadLength(l.length) + l.length;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  out[pos++] = 0x80 + fields;
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
  if (fields >= 11) {
    if (atime !== undefined) pos = writeBigInt(out, pos, atime);
    else out[pos++] = 0xf6;
  }
  if (fields >= 12) {
    if (device) pos = writeBigInt(out, pos, BigInt(rdev));
    else out[pos++] = 0xf6;
  }
  if (links !== undefined) {
    pos = writeCborHead(out, pos, 4, links.length);
    for (const l of links) pos = writeBytes(out, pos, l);
  }
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
  const length = bytes[pos++]!;
  if (length < 0x8a || length > 0x8d) return undefined;
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
  const isNull = (): boolean => (bytes[pos] === 0xf6 ? (pos++, true) : false);
  if (length >= 0x8b && !isNull()) info.atimeNs = bigint();
  if (length >= 0x8c && !isNull()) {
    const rdev = bigint();
    if (rdev < 0n || rdev > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    info.rdev = Number(rdev);
  }
  if (length === 0x8d) {
    const count = head(4);
    if (!ok || count === 0) return undefined;
    const links: Uint8Array[] = [];
    for (let i = 0; i < count && ok; i++) links.push(byteString());
    info.links = links;
  }
  // Devices, and only they, carry an rdev; a trailing null is never written (the generic decoder reports the mismatch).
  if (!ok || pos !== bytes.length || (length >= 0x8c && (info.rdev !== undefined) !== isDevice(type))) return undefined;
  if (length === 0x8b && info.atimeNs === undefined) return undefined;
  if (length <= 0x8c && (length === 0x8c) !== isDevice(type)) return undefined;
  return info;
}

const EMPTY = new Uint8Array(0);

/** The type of an info record, without decoding the rest (directory checks on every lookup). */
export function infoType(bytes: Uint8Array): FileType | 'link' {
  // [type, ...] with type below 24: the array head (10 to 13 elements), then the type in one byte.
  if (bytes.length > 1 && bytes[0]! >= 0x8a && bytes[0]! <= 0x8d && bytes[1]! < TYPES.length) return TYPES[bytes[1]!]!;
  if (isLinkRecord(bytes)) return 'link';
  return decodeInfo(bytes).type;
}

function decodeGeneric(bytes: Uint8Array): Info {
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (err) {
    throw new CorruptInfoError('an info record is not valid CBOR', { cause: err });
  }
  if (!Array.isArray(v) || v.length < 10 || v.length > 13) throw new CorruptInfoError('an info record has the wrong shape');
  const [type, mode, uid, gid, mtime, ctime, size, allocated, target, xattrs, atime, rdev, links] = v as unknown[];
  const t = TYPES[type as number];
  if (t === undefined) throw new CorruptInfoError(`unknown file type ${String(type)}`);
  if ((v.length >= 12 && rdev !== null) !== isDevice(t)) throw new CorruptInfoError(`a ${t} record has ${v.length} fields`);
  if (links !== undefined && (!Array.isArray(links) || links.length === 0)) throw new CorruptInfoError('an info record has an empty list of links');
  return {
    ...(atime === undefined || atime === null ? {} : { atimeNs: big(atime) }),
    ...(rdev === undefined || rdev === null ? {} : { rdev: Number(rdev) }),
    ...(links === undefined ? {} : { links: links as Uint8Array[] }),
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

/**
 * A link record: what a hard link's other names hold, [7, info key of the inode's least name]
 * (a CBOR array of two: 0x82 0x07, then the key as a byte string).
 */
export function encodeLinkRecord(primary: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + cborHeadLength(primary.length) + primary.length);
  out[0] = 0x82;
  out[1] = LINK_CODE;
  writeBytes(out, 2, primary);
  return out;
}

const LINK_CODE = 7;

export const isLinkRecord = (bytes: Uint8Array): boolean => bytes.length > 2 && bytes[0] === 0x82 && bytes[1] === LINK_CODE;

/** The info key a link record names. */
export function linkRecordTarget(bytes: Uint8Array): Uint8Array {
  const b = bytes[2]!;
  if (b >> 5 !== 2) throw new CorruptInfoError('a link record does not hold a key');
  const info = b & 31;
  const len = info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 0;
  if (len === 0) throw new CorruptInfoError('a link record does not hold a key');
  let n = info < 24 ? info : 0;
  for (let i = 1; i < len; i++) n = n * 256 + bytes[2 + i]!;
  if (2 + len + n !== bytes.length) throw new CorruptInfoError('a link record has the wrong length');
  return bytes.subarray(2 + len);
}

export function sortXattrs(xattrs: Xattr[]): Xattr[] {
  return xattrs.sort((a, b) => compareBytes(a.name, b.name));
}
