// A remote root read lazily: a read-only BlobStore that fetches each blob on first use from a
// `cafs serve` (GET /blob/<hash>), verifies it, and keeps it in a bounded cache.
import { LRUCache } from 'lru-cache';
import { BlobNotFoundError, bytesToHex, sha256, type BlobStore, type BlobStoreOperationOptions, type Hash, type HashedBlob } from '@cafs/kv';
import { SyncError } from './errors.js';
import type { HttpRemote } from './http-remote.js';

export interface RemoteBlobStoreOptions {
  /** Bytes of fetched blobs kept in memory (default 256 MiB); the least recently used go first. */
  cacheBytes?: number | undefined;
}

export class RemoteBlobStore implements BlobStore {
  readonly maxBlobSize = 16 * 1024 * 1024;
  /** Blobs and bytes fetched from the remote so far. */
  fetchedBlobs = 0;
  fetchedBytes = 0;
  private readonly cache: LRUCache<string, Uint8Array>;
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  constructor(
    readonly remote: HttpRemote,
    options: RemoteBlobStoreOptions = {},
  ) {
    this.cache = new LRUCache<string, Uint8Array>({ maxSize: options.cacheBytes ?? 256 * 1024 * 1024, sizeCalculation: (b) => Math.max(1, b.length) });
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    const id = bytesToHex(hash);
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    let pending = this.inflight.get(id);
    if (pending === undefined) {
      pending = this.fetch(hash, id, options).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  private async fetch(hash: Hash, id: string, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.remote.blob(hash, { signal: options?.signal });
    } catch (err) {
      if ((err as { status?: number }).status === 404) throw new BlobNotFoundError(id);
      throw err;
    }
    const actual = bytesToHex(sha256(bytes));
    if (actual !== id) throw new SyncError('ERR_INTEGRITY', `blob ${id} from ${this.remote.url} is corrupt: its bytes hash to ${actual}`);
    this.fetchedBlobs++;
    this.fetchedBytes += bytes.length;
    this.cache.set(id, bytes);
    return bytes;
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    return this.remote.has(hashes, { signal: options?.signal });
  }

  private readOnly(): SyncError {
    return new SyncError('EINVAL', `${this.remote.url} is read here lazily and read-only`);
  }
  put(_bytes: Uint8Array): Promise<Hash> {
    return Promise.reject(this.readOnly());
  }
  putMany(_blobs: readonly Uint8Array[]): Promise<Hash[]> {
    return Promise.reject(this.readOnly());
  }
  putHashed(_blobs: readonly HashedBlob[]): Promise<void> {
    return Promise.reject(this.readOnly());
  }
  delete(_hashes: readonly Hash[]): Promise<void> {
    return Promise.reject(this.readOnly());
  }
  // A remote's blobs are not listed (garbage collection never runs on a lazy view).
  // eslint-disable-next-line require-yield
  async *hashes(): AsyncGenerator<Hash> {
    throw this.readOnly();
  }
  async close(): Promise<void> {
    this.cache.clear();
  }
}
