// Commits are blobs too: history is content-addressed.
import { Encoder, decode } from 'cbor-x';
import { HASH_BYTES, type Hash } from '@cafs/kv';
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
const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });
const int = (n: bigint): number | bigint => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);

/** CBOR array ["cafs-commit-v1", root, [parents...], timeNs, message, author | null]. */
export function encodeCommit(c: Commit): Uint8Array {
  return cbor.encode([TAG, c.root, c.parents, int(c.timeNs), c.message, c.author ?? null]) as Uint8Array;
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
