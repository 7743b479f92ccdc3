// sync(from, to, request): copies what the destination lacks, verified, in an order that keeps
// it whole at every moment; the caller moves names only after it returns.
import { bytesToHex, sha256, type BlobStore, type Hash } from '@cafs/kv';
import { planTransfer, type PlanItem, type SyncRequest } from './plan.js';
import { SyncError } from './errors.js';

/** Where blobs come from: a local store, or a remote that plans and sends on its side. */
export interface SyncSource {
  plan(request: SyncRequest, options: { signal?: AbortSignal | undefined }): Promise<PlanItem[]>;
  /** The blobs' bytes in request order (unverified: sync checks every hash). */
  getMany(hashes: readonly Hash[], options: { signal?: AbortSignal | undefined }): Promise<Uint8Array[]>;
}

/** Where blobs go. */
export interface SyncTarget {
  has(hashes: readonly Hash[], options: { signal?: AbortSignal | undefined }): Promise<boolean[]>;
  /** Stores verified blobs, in the order given. */
  putMany(blobs: readonly { hash: Hash; bytes: Uint8Array }[], options: { signal?: AbortSignal | undefined }): Promise<void>;
}

export interface SyncProgress {
  blobsSent: number;
  bytesSent: number;
  /** Blobs to send, once the plan is known and filtered. */
  blobsTotal: number;
}

export interface SyncOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: SyncProgress) => void) | undefined;
  /** Blobs per round trip (default 512)... */
  batchBlobs?: number | undefined;
  /** ...and bytes (default 8 MiB). */
  batchBytes?: number | undefined;
}

export interface SyncReport {
  /** Blobs the plan listed. */
  planned: number;
  /** Blobs copied (the rest the destination had). */
  blobs: number;
  bytes: number;
  commits: number;
  /** The commits copied, in the order stored (parents first). */
  commitsCopied: Hash[];
}

export function storeSource(store: BlobStore): SyncSource {
  return {
    plan: (request, o) => planTransfer(store, request, o),
    getMany: (hashes, o) => Promise.all(hashes.map((h) => store.get(h, o))),
  };
}

export function storeTarget(store: BlobStore): SyncTarget {
  return {
    has: (hashes, o) => store.has(hashes, o),
    putMany: (blobs, o) => store.putHashed(blobs.map((b) => ({ hash: b.hash, bytes: b.bytes.slice() })), o),
  };
}

const isStore = (x: object): x is BlobStore => 'maxBlobSize' in x && 'hashes' in x;
const asSource = (s: SyncSource | BlobStore): SyncSource => (isStore(s) ? storeSource(s) : s);
const asTarget = (t: SyncTarget | BlobStore): SyncTarget => (isStore(t) ? storeTarget(t) : t);

/** Throws ERR_INTEGRITY unless `bytes` hash to `hash`. */
export function verifyBlob(hash: Hash, bytes: Uint8Array): void {
  const actual = bytesToHex(sha256(bytes));
  if (actual !== bytesToHex(hash)) throw new SyncError('ERR_INTEGRITY', `blob ${bytesToHex(hash)} arrived corrupt: its bytes hash to ${actual}`);
}

/**
 * Copies every blob reachable from `request.want` that `to` lacks. With `request.have` naming
 * what `to` already holds (its branch heads), the work is proportional to the change.
 */
export async function sync(from: SyncSource | BlobStore, to: SyncTarget | BlobStore, request: SyncRequest, options: SyncOptions = {}): Promise<SyncReport> {
  const source = asSource(from);
  const target = asTarget(to);
  const signal = options.signal;
  const plan = await source.plan(request, { signal });
  const present: boolean[] = [];
  for (let i = 0; i < plan.length; i += 4096) {
    present.push(...(await target.has(plan.slice(i, i + 4096).map((p) => p.hash), { signal })));
  }
  const todo = plan.filter((_, i) => !present[i]);
  const progress: SyncProgress = { blobsSent: 0, bytesSent: 0, blobsTotal: todo.length };
  options.onProgress?.({ ...progress });
  const maxBlobs = options.batchBlobs ?? 512;
  const maxBytes = options.batchBytes ?? 8 * 1024 * 1024;
  let count = maxBlobs;
  const commitsCopied: Hash[] = [];
  // Batches go in plan order, so whatever was stored when a transfer stops is whole.
  for (let i = 0; i < todo.length; ) {
    signal?.throwIfAborted();
    const batch = todo.slice(i, i + count);
    const bytes = await source.getMany(batch.map((b) => b.hash), { signal });
    if (bytes.length !== batch.length) throw new SyncError('ERR_PROTOCOL', `asked for ${batch.length} blobs, got ${bytes.length}`);
    let size = 0;
    const blobs = batch.map((b, j) => {
      verifyBlob(b.hash, bytes[j]!);
      size += bytes[j]!.length;
      if (b.kind === 'commit') commitsCopied.push(b.hash);
      return { hash: b.hash, bytes: bytes[j]! };
    });
    await target.putMany(blobs, { signal });
    i += blobs.length;
    progress.blobsSent += blobs.length;
    progress.bytesSent += size;
    options.onProgress?.({ ...progress });
    // Sizes are known only on arrival: aim the next batch at maxBytes.
    count = Math.max(1, Math.min(maxBlobs, Math.floor((blobs.length * maxBytes) / Math.max(1, size))));
  }
  return { planned: plan.length, blobs: progress.blobsSent, bytes: progress.bytesSent, commits: commitsCopied.length, commitsCopied };
}
