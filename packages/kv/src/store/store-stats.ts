// Logical against stored bytes of any store (`cafs stats`).
import type { BlobStore, BlobStoreOperationOptions } from './blob-store.js';
import { CodecBlobStore, type CodecStats } from './codec-store.js';
import { isRawBlobStore } from './raw-store.js';

export interface StoreStats extends CodecStats {
  /** What the store writes: "raw" (plain), "zstd:3", "sealed", "zstd:3+sealed". */
  codec: string;
  /** False when stored sizes could not be seen (a store without the raw layer): storedBytes is then logicalBytes. */
  storedKnown: boolean;
}

/**
 * One pass over the store. A codec store counts its stored values; a plain store with the raw
 * layer stores each blob as it is (stored = logical); any other store is read blob by blob.
 */
export async function storeStats(store: BlobStore, options?: BlobStoreOperationOptions): Promise<StoreStats> {
  if (store instanceof CodecBlobStore) return { ...(await store.stats(options)), codec: store.description, storedKnown: true };
  const stats: StoreStats = { blobs: 0, logicalBytes: 0, storedBytes: 0, compressedBlobs: 0, codec: 'raw', storedKnown: isRawBlobStore(store) };
  const raw = isRawBlobStore(store) ? store : undefined;
  let batch: Uint8Array[] = [];
  const add = async (): Promise<void> => {
    const sizes = await Promise.all(batch.map(async (h) => (raw !== undefined ? (await raw.getRaw(h, options))?.length : (await store.get(h, options)).length)));
    for (const n of sizes) {
      if (n === undefined) continue;
      stats.blobs++;
      stats.logicalBytes += n;
      stats.storedBytes += n;
    }
    batch = [];
  };
  for await (const h of raw !== undefined ? raw.rawKeys(options) : store.hashes(options)) {
    batch.push(h);
    if (batch.length === 256) await add();
  }
  if (batch.length > 0) await add();
  return stats;
}
