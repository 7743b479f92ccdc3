// The Info record stored at every path's info key (docs/format.md, "Info").
import { Encoder, decode } from 'cbor-x';
import { compareBytes } from '@cafs/kv';

export type FileType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket';

const TYPE_CODES: Record<FileType, number> = { directory: 0, file: 1, symlink: 2, fifo: 3, socket: 4 };
const TYPES: FileType[] = ['directory', 'file', 'symlink', 'fifo', 'socket'];

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
}

const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false, variableMapSize: true });

/** Times are signed 64-bit nanoseconds (1677 to 2262), as Linux keeps them. */
export const MIN_TIME_NS = -(2n ** 63n);
export const MAX_TIME_NS = 2n ** 63n - 1n;

const U32 = 2n ** 32n;
/**
 * Integers in CBOR's shortest form: cbor-x writes a number in [-2^32, 2^32) as an integer, but a
 * larger one as a float64 (fb), and a bigint always as 8 bytes (1b / 3b), which beyond 2^32 is
 * the shortest integer form. So: numbers inside, bigints outside.
 */
const int = (n: bigint): number | bigint => (n >= -U32 && n < U32 ? Number(n) : n);
const big = (x: unknown): bigint => (typeof x === 'bigint' ? x : BigInt(x as number));

/**
 * CBOR array: [type, mode, uid, gid, mtimeNs, ctimeNs, size, allocated, target|null,
 * [[name, value], ...]] with type 0 directory, 1 file, 2 symlink, 3 fifo, 4 socket.
 */
export function encodeInfo(info: Info): Uint8Array {
  const xattrs = info.xattrs.map((x) => [x.name, x.value]);
  return cbor.encode([
    TYPE_CODES[info.type],
    info.mode,
    info.uid,
    info.gid,
    int(info.mtimeNs),
    int(info.ctimeNs),
    int(info.size),
    int(info.allocated),
    info.target ?? null,
    xattrs,
  ]) as Uint8Array;
}

export class CorruptInfoError extends Error {
  readonly code = 'ERR_CORRUPT_INFO';
}

export function decodeInfo(bytes: Uint8Array): Info {
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (err) {
    throw new CorruptInfoError('an info record is not valid CBOR', { cause: err });
  }
  if (!Array.isArray(v) || v.length !== 10) throw new CorruptInfoError('an info record has the wrong shape');
  const [type, mode, uid, gid, mtime, ctime, size, allocated, target, xattrs] = v as unknown[];
  const t = TYPES[type as number];
  if (t === undefined) throw new CorruptInfoError(`unknown file type ${String(type)}`);
  return {
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
