// The binary bodies of the sync protocol (docs/sync.md): hash lists, plans, has-bitmaps and
// blob frames. Plain byte layouts, so any language can speak them.
import { HASH_BYTES, type Hash } from '@cafs/kv';
import type { PlanItem, PlanKind } from './plan.js';
import { SyncError } from './errors.js';

const KINDS: PlanKind[] = ['data', 'node', 'commit'];
/** The length of a frame whose blob the sender does not have. */
export const ABSENT = 0xffffffff;

/** Hashes, 32 bytes each, back to back. */
export function encodeHashes(hashes: readonly Hash[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_BYTES);
  hashes.forEach((h, i) => out.set(h, i * HASH_BYTES));
  return out;
}

export function decodeHashes(bytes: Uint8Array): Hash[] {
  if (bytes.length % HASH_BYTES !== 0) throw new SyncError('ERR_PROTOCOL', `a hash list is a multiple of ${HASH_BYTES} bytes (got ${bytes.length})`);
  const out: Hash[] = [];
  for (let at = 0; at < bytes.length; at += HASH_BYTES) out.push(bytes.slice(at, at + HASH_BYTES));
  return out;
}

/** A plan: per item, one kind byte (0 data, 1 node, 2 commit) and the hash. */
export function encodePlan(plan: readonly PlanItem[]): Uint8Array {
  const out = new Uint8Array(plan.length * (1 + HASH_BYTES));
  plan.forEach((p, i) => {
    out[i * (1 + HASH_BYTES)] = KINDS.indexOf(p.kind);
    out.set(p.hash, i * (1 + HASH_BYTES) + 1);
  });
  return out;
}

export function decodePlan(bytes: Uint8Array): PlanItem[] {
  const size = 1 + HASH_BYTES;
  if (bytes.length % size !== 0) throw new SyncError('ERR_PROTOCOL', 'a plan is a multiple of 33 bytes');
  const out: PlanItem[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const kind = KINDS[bytes[at]!];
    if (kind === undefined) throw new SyncError('ERR_PROTOCOL', `unknown plan item kind ${bytes[at]}`);
    out.push({ kind, hash: bytes.slice(at + 1, at + size) });
  }
  return out;
}

/** The head of one blob frame: the hash, then the length as uint32 big-endian (ABSENT: none). */
export function frameHead(hash: Hash, length: number): Uint8Array {
  const head = new Uint8Array(HASH_BYTES + 4);
  head.set(hash);
  new DataView(head.buffer).setUint32(HASH_BYTES, length);
  return head;
}

export function encodeFrames(blobs: readonly { hash: Hash; bytes: Uint8Array }[]): Uint8Array {
  let n = 0;
  for (const b of blobs) n += HASH_BYTES + 4 + b.bytes.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const b of blobs) {
    out.set(frameHead(b.hash, b.bytes.length), at);
    out.set(b.bytes, at + HASH_BYTES + 4);
    at += HASH_BYTES + 4 + b.bytes.length;
  }
  return out;
}

/** Frames back to blobs; an absent blob comes back as undefined. */
export function decodeFrames(bytes: Uint8Array, maxBlob: number): { hash: Hash; bytes: Uint8Array | undefined }[] {
  const out: { hash: Hash; bytes: Uint8Array | undefined }[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + HASH_BYTES + 4 > bytes.length) throw new SyncError('ERR_PROTOCOL', 'a blob frame is cut short');
    const hash = bytes.slice(at, at + HASH_BYTES);
    const length = view.getUint32(at + HASH_BYTES);
    at += HASH_BYTES + 4;
    if (length === ABSENT) {
      out.push({ hash, bytes: undefined });
      continue;
    }
    if (length > maxBlob) throw new SyncError('ERR_PROTOCOL', `a blob of ${length} bytes is over the limit of ${maxBlob}`);
    if (at + length > bytes.length) throw new SyncError('ERR_PROTOCOL', 'a blob frame is cut short');
    out.push({ hash, bytes: bytes.slice(at, at + length) });
    at += length;
  }
  return out;
}
