import { RedisBlobStore, type RedisBlobStoreOptions } from './blob-store.js';
import { CachedBlobStore } from './cache.js';
import { RedisConnection, type RedisConnectOptions } from './connection.js';
import { RedisNameStore, type RedisNameStoreOptions } from './names.js';
import type { BlobStore } from '@cafs/kv';

export interface OpenRedisOptions extends RedisConnectOptions, RedisBlobStoreOptions, RedisNameStoreOptions {
  /** Bytes of blobs kept by the read-through cache in front of the store (default 64 MiB; 0: no cache). */
  cacheBytes?: number | undefined;
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
    const cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
    const store = cacheBytes > 0 ? new CachedBlobStore(blobs, { maxBytes: cacheBytes }) : blobs;
    return { store, names, blobs };
  } catch (err) {
    connection.client.disconnect();
    throw err;
  }
}
