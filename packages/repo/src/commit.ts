// Commits are blobs too: history is content-addressed.
import { decode } from 'cbor-x';
import { HASH_BYTES, cborHeadLength, writeCborHead, type Hash } from '@cafs/kv';
import { RepoError } from './errors.js';

export interface Commit {
  /** The filesystem root this commit records. */
  root: Hash;
  /** Parent commits: none for a first commit, two for a merge. */
  parents: Hash[];
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  message: string;
  author?: string | undefined;
}

const TAG = 'cafs-commit-v1';
const utf8 = new TextEncoder();
/** The head and text of TAG: 0x6e, then its 14 bytes. */
const TAG_ITEM = new Uint8Array([0x60 | TAG.length, ...utf8.encode(TAG)]);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const TWO_32 = 2 ** 32;
const TWO_64N = 2n ** 64n;

/**
 * CBOR array ["cafs-commit-v1", root, [parents...], timeNs, message, author | null]
 * (docs/format.md, "Commits"). Written by hand, byte for byte what cbor-x wrote (a test compares
 * them): the time is a CBOR integer in shortest form below 2^32 in magnitude, a float64 up to
 * 2^53, and a full 64-bit integer beyond (every time after mid-April 1970). A mount writes one
 * commit per change.
 */
export function encodeCommit(c: Commit): Uint8Array {
  const message = utf8.encode(c.message);
  const author = c.author === undefined ? undefined : utf8.encode(c.author);
  checkHash(c.root);
  for (const p of c.parents) checkHash(p);
  let size = 1 + TAG_ITEM.length + 2 + HASH_BYTES + cborHeadLength(c.parents.length) + c.parents.length * (2 + HASH_BYTES);
  size += timeLength(c.timeNs) + cborHeadLength(message.length) + message.length;
  size += author === undefined ? 1 : cborHeadLength(author.length) + author.length;
  const out = new Uint8Array(size);
  let pos = 0;
  out[pos++] = 0x86;
  out.set(TAG_ITEM, pos);
  pos += TAG_ITEM.length;
  pos = writeHash(out, pos, c.root);
  pos = writeCborHead(out, pos, 4, c.parents.length);
  for (const p of c.parents) pos = writeHash(out, pos, p);
  pos = writeTime(out, pos, c.timeNs);
  pos = writeCborHead(out, pos, 3, message.length);
  out.set(message, pos);
  pos += message.length;
  if (author === undefined) out[pos++] = 0xf6;
  else {
    pos = writeCborHead(out, pos, 3, author.length);
    out.set(author, pos);
    pos += author.length;
  }
  return out;
}

function timeLength(t: bigint): number {
  if (t > MAX_SAFE || t < MIN_SAFE) return 9;
  const n = Number(t);
  if (n >= 0 && n < TWO_32) return cborHeadLength(n);
  if (n < 0 && n >= -TWO_32) return cborHeadLength(-1 - n);
  return 9;
}

function checkHash(h: Hash): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) throw new TypeError('a commit names 32-byte hashes');
}

function writeHash(out: Uint8Array, pos: number, hash: Hash): number {
  out[pos] = 0x58;
  out[pos + 1] = HASH_BYTES;
  out.set(hash, pos + 2);
  return pos + 2 + HASH_BYTES;
}

function writeTime(out: Uint8Array, pos: number, t: bigint): number {
  if (t > MAX_SAFE) {
    if (t >= TWO_64N) throw new RangeError(`commit time ${t} does not fit 64 bits`);
    out[pos] = 0x1b;
    new DataView(out.buffer, out.byteOffset).setBigUint64(pos + 1, t);
    return pos + 9;
  }
  if (t < MIN_SAFE) {
    if (t < -TWO_64N) throw new RangeError(`commit time ${t} does not fit 64 bits`);
    out[pos] = 0x3b;
    new DataView(out.buffer, out.byteOffset).setBigUint64(pos + 1, -1n - t);
    return pos + 9;
  }
  const n = Number(t);
  if (n >= 0 && n < TWO_32) return writeCborHead(out, pos, 0, n);
  if (n < 0 && n >= -TWO_32) return writeCborHead(out, pos, 1, -1 - n);
  out[pos] = 0xfb;
  new DataView(out.buffer, out.byteOffset).setFloat64(pos + 1, n);
  return pos + 9;
}

/** Whether a blob's bytes start as a commit's do (cheap: no decoding). */
export function looksLikeCommit(bytes: Uint8Array): boolean {
  if (bytes.length < 1 + TAG_ITEM.length || bytes[0] !== 0x86) return false;
  for (let i = 0; i < TAG_ITEM.length; i++) if (bytes[1 + i] !== TAG_ITEM[i]) return false;
  return true;
}

/** The commit in a blob, or undefined when the blob is not a commit (e.g. a tree node). */
export function tryDecodeCommit(bytes: Uint8Array): Commit | undefined {
  if (bytes.length < 20 || bytes[0] !== 0x86) return undefined;
  let v: unknown;
  try {
    v = decode(bytes);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 6 || v[0] !== TAG) return undefined;
  const [, root, parents, time, message, author] = v as [string, unknown, unknown, unknown, unknown, unknown];
  const isHash = (x: unknown): x is Hash => x instanceof Uint8Array && x.length === HASH_BYTES;
  if (!isHash(root) || !Array.isArray(parents) || !parents.every(isHash) || typeof message !== 'string') return undefined;
  return {
    root,
    parents,
    timeNs: typeof time === 'bigint' ? time : BigInt(time as number),
    message,
    author: typeof author === 'string' ? author : undefined,
  };
}

export function decodeCommit(bytes: Uint8Array, hashHex: string): Commit {
  const c = tryDecodeCommit(bytes);
  if (c === undefined) throw new RepoError('ERR_NOT_A_COMMIT', `${hashHex} is not a commit`);
  return c;
}
