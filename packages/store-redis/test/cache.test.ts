import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStoreConformance } from '@cafs/kv/testing';
import type { BlobStore, Hash } from '@cafs/kv';
import { CachedBlobStore, RedisBlobStore, RedisConnection } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
let connection: RedisConnection;
let n = 0;
const freshPrefix = () => `cache${process.pid}-${++n}:`;

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = (await RedisConnection.connect(cluster.url)).acquire();
});

afterAll(async () => {
  await connection?.release();
  await cluster?.stop();
});

blobStoreConformance('read-through cache over the redis cluster', {
  // cacheWrites off so that a blob corrupted on the server is read from it (and caught).
  open: async (options) => new CachedBlobStore(new RedisBlobStore(connection, { ...options, prefix: freshPrefix() }), { cacheWrites: false }),
  corrupt: async (store: BlobStore, hash: Hash, bytes: Uint8Array) => {
    const s = (store as CachedBlobStore).inner as RedisBlobStore;
    await s.client.set(s.key(hash), Buffer.from(bytes));
  },
});

describe('CachedBlobStore', () => {
  it('serves repeated reads from memory and stays within its byte bound', async () => {
    const remote = new RedisBlobStore(connection, { prefix: freshPrefix() });
    const store = new CachedBlobStore(remote, { maxBytes: 20_000, cacheWrites: false });
    try {
      const blobs = Array.from({ length: 100 }, (_, i) => new Uint8Array(1000).fill(i));
      const hashes = await store.putMany(blobs);
      for (const h of hashes) await store.get(h);
      expect(store.stats).toEqual({ hits: 0, misses: 100 });
      expect(store.cachedBytes).toBeLessThanOrEqual(20_000);
      expect(store.cachedBytes).toBeGreaterThan(15_000);
      // The most recent ones are cached: reading them again needs no round trip.
      for (const h of hashes.slice(-10)) expect((await store.get(h))[0]).toBe(hashes.indexOf(h));
      expect(store.stats.hits).toBe(10);
      // Deleting drops the cached copy too.
      await store.delete([hashes[99]!]);
      await expect(store.get(hashes[99]!)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
      expect(await store.has([hashes[98]!, hashes[99]!, hashes[0]!])).toEqual([true, false, true]);
    } finally {
      await store.close();
    }
  });
});
