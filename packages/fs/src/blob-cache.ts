import { LRUCache } from 'lru-cache';
import { bytesToHex, type BlobStore, type Hash } from '@cafs/kv';
import type { BlobCache } from './data/file-data.js';

/** Recently read blobs (verified once by the store), bounded in bytes. */
export class BlobLru implements BlobCache {
  readonly store: BlobStore;
  private readonly cache: LRUCache<string, Uint8Array>;

  constructor(store: BlobStore, maxBytes: number) {
    this.store = store;
    this.cache = new LRUCache<string, Uint8Array>({ maxSize: Math.max(1, maxBytes), sizeCalculation: (b) => b.length + 64 });
  }

  get(hash: Hash): Promise<Uint8Array> {
    // A resident store hands back the very arrays it keeps (checked once): caching them again
    // would only cost a hex key and LRU bookkeeping per read.
    if (this.store.resident === true) return this.store.get(hash);
    return this.cached(hash);
  }

  getUncached(hash: Hash): Promise<Uint8Array> {
    if (this.store.resident === true) return this.store.get(hash);
    const hit = this.cache.get(bytesToHex(hash));
    return hit !== undefined ? Promise.resolve(hit) : this.store.get(hash);
  }

  private async cached(hash: Hash): Promise<Uint8Array> {
    const id = bytesToHex(hash);
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    const bytes = await this.store.get(hash);
    this.cache.set(id, bytes);
    return bytes;
  }
}
