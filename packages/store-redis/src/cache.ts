// A read-through cache in front of a remote BlobStore. Blobs never change under their hash, so
// nothing is ever invalidated; the cache is bounded in bytes (LRU).
import { LRUCache } from 'lru-cache';
import type { BlobStore, BlobStoreOperationOptions, Hash, HashedBlob } from '@cafs/kv';

export interface CachedBlobStoreOptions {
  /** Bytes of blobs kept (default 64 MiB). */
  maxBytes?: number | undefined;
  /** Also cache what is written (default true: a blob just written is often read soon). */
  cacheWrites?: boolean | undefined;
}

/** Per-entry bookkeeping counted against maxBytes besides the blob's own bytes. */
const ENTRY_OVERHEAD = 96;

const keyOf = (h: Hash): string => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');

export class CachedBlobStore implements BlobStore {
  readonly inner: BlobStore;
  readonly maxBlobSize: number;
  /** False: hits hand back the cache's bytes, but misses are fresh copies from the remote store. */
  readonly resident = false;
  readonly stats = { hits: 0, misses: 0 };
  private readonly cache: LRUCache<string, Uint8Array>;
  private readonly cacheWrites: boolean;

  constructor(inner: BlobStore, options: CachedBlobStoreOptions = {}) {
    this.inner = inner;
    this.maxBlobSize = inner.maxBlobSize;
    this.cacheWrites = options.cacheWrites ?? true;
    this.cache = new LRUCache<string, Uint8Array>({
      maxSize: Math.max(1, options.maxBytes ?? 64 * 1024 * 1024),
      sizeCalculation: (v) => v.byteLength + ENTRY_OVERHEAD,
    });
  }

  /** Bytes held now (blobs plus bookkeeping). */
  get cachedBytes(): number {
    return this.cache.calculatedSize;
  }

  private remember(hash: Hash, bytes: Uint8Array): void {
    if (bytes.byteLength + ENTRY_OVERHEAD > this.cache.maxSize) return;
    // A copy: the bytes may be a view into a larger buffer (a socket read) or the caller's array.
    this.cache.set(keyOf(hash), new Uint8Array(bytes));
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    const hash = await this.inner.put(bytes, options);
    if (this.cacheWrites) this.remember(hash, bytes);
    return hash;
  }

  async putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    const hashes = await this.inner.putMany(blobs, options);
    if (this.cacheWrites) hashes.forEach((h, i) => this.remember(h, blobs[i]!));
    return hashes;
  }

  async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    await this.inner.putHashed(blobs, options);
    if (this.cacheWrites) for (const b of blobs) this.remember(b.hash, b.bytes);
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    if (hash instanceof Uint8Array && hash.length === 32) {
      options?.signal?.throwIfAborted();
      const hit = this.cache.get(keyOf(hash));
      if (hit !== undefined) {
        this.stats.hits++;
        return hit;
      }
    }
    this.stats.misses++;
    const bytes = await this.inner.get(hash, options); // verified by the inner store
    this.remember(hash, bytes);
    return bytes;
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    const out = hashes.map((h) => h instanceof Uint8Array && h.length === 32 && this.cache.has(keyOf(h)));
    const ask = hashes.filter((_, i) => !out[i]);
    if (ask.length === 0) {
      options?.signal?.throwIfAborted();
      return out;
    }
    const remote = await this.inner.has(ask, options);
    let j = 0;
    return out.map((known) => known || remote[j++]!);
  }

  async delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    await this.inner.delete(hashes, options);
    for (const h of hashes) this.cache.delete(keyOf(h));
  }

  hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    return this.inner.hashes(options);
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.inner.close();
  }
}
