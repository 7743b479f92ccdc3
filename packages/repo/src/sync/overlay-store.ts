// A store that writes locally and reads through to another: what a read/write mount of a remote
// branch needs (its changes stay here until pushed; everything else is fetched as it is read).
import type { BlobStore, BlobStoreOperationOptions, Hash, HashedBlob } from '@cafs/kv';
import { BlobNotFoundError } from '@cafs/kv';

export class OverlayBlobStore implements BlobStore {
  readonly maxBlobSize: number;

  constructor(
    /** Where writes go (and what is read first). */
    readonly local: BlobStore,
    /** What every other read falls back to (e.g. a RemoteBlobStore). */
    readonly base: BlobStore,
  ) {
    this.maxBlobSize = local.maxBlobSize;
  }

  put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    return this.local.put(bytes, options);
  }
  putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    return this.local.putMany(blobs, options);
  }
  putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    return this.local.putHashed(blobs, options);
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    try {
      return await this.local.get(hash, options);
    } catch (err) {
      if (!(err instanceof BlobNotFoundError)) throw err;
      return this.base.get(hash, options);
    }
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    const here = await this.local.has(hashes, options);
    const ask = hashes.filter((_, i) => !here[i]);
    if (ask.length === 0) return here;
    const there = await this.base.has(ask, options);
    let j = 0;
    return here.map((h) => h || there[j++]!);
  }

  /** Only local blobs go (the base is not ours to change). */
  delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    return this.local.delete(hashes, options);
  }

  /** The local blobs: what this overlay added. */
  hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    return this.local.hashes(options);
  }

  async close(): Promise<void> {
    await this.local.close();
    await this.base.close();
  }
}
