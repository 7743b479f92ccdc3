import { RedisBlobStore, type RedisBlobStoreOptions } from './blob-store.js';
import { CachedBlobStore } from './cache.js';
import { RedisConnection, type RedisConnectOptions } from './connection.js';
import { RedisNameStore, type RedisNameStoreOptions } from './names.js';
import { openCodecStore, type BlobStore, type CodecOpenOptions } from '@cafs/kv';

export interface OpenRedisOptions extends RedisConnectOptions, RedisBlobStoreOptions, RedisNameStoreOptions {
  /** Bytes of blobs kept by the read-through cache in front of the store (default 64 MiB; 0: no cache). */
  cacheBytes?: number | undefined;
  /**
   * Stored-blob codecs (compression, encryption): the repository's codec record (key
   * `<prefix>m:codec`) decides; these create it on an empty keyspace, and carry the secret.
   * The cache sits above the codec, so it holds plain blobs.
   */
  codecs?: CodecOpenOptions | undefined;
}

/**
 * The blob store (behind a read-through cache) and the names of one repository on one
 * connection: `new Repo(await openRedis(url))`. Closing both (Repo.close does) disconnects.
 */
export async function openRedis(url: string, options: OpenRedisOptions = {}): Promise<{ store: BlobStore; names: RedisNameStore; blobs: RedisBlobStore }> {
  const connection = await RedisConnection.connect(url, options);
  try {
    const blobs = new RedisBlobStore(connection, options);
    const names = new RedisNameStore(connection, options);
    const coded = await openCodecStore(blobs, options.codecs ?? {});
    const cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
    const store = cacheBytes > 0 ? new CachedBlobStore(coded, { maxBytes: cacheBytes }) : coded;
    return { store, names, blobs };
  } catch (err) {
    connection.client.disconnect();
    throw err;
  }
}
