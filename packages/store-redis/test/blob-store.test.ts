import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@cafs/kv';
import { blobStoreConformance } from '@cafs/kv/testing';
import { sha256, type BlobStore, type Hash } from '@cafs/kv';
import { RedisBlobStore, RedisConnection } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
let connection: RedisConnection;
let n = 0;

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = (await RedisConnection.connect(cluster.url)).acquire();
});

afterAll(async () => {
  await connection?.release();
  await cluster?.stop();
});

const freshPrefix = () => `t${process.pid}-${++n}:`;

blobStoreConformance('redis cluster (3 masters)', {
  open: async (options) => new RedisBlobStore(connection, { ...options, prefix: freshPrefix() }),
  corrupt: async (store: BlobStore, hash: Hash, bytes: Uint8Array) => {
    const s = store as RedisBlobStore;
    await s.client.set(s.key(hash), Buffer.from(bytes));
  },
});

describe('RedisBlobStore', () => {
  it('connects by URL, and prefixes keep repositories apart on one cluster', async () => {
    const a = await RedisBlobStore.connect(cluster.url, { prefix: 'repo-a:' });
    const b = await RedisBlobStore.connect(`${cluster.url}?prefix=repo-b:`);
    try {
      expect(b.prefix).toBe('repo-b:');
      const h = await a.put(new TextEncoder().encode('only in a'));
      expect(await a.has([h])).toEqual([true]);
      expect(await b.has([h])).toEqual([false]);
      let count = 0;
      for await (const _ of b.hashes()) count++;
      expect(count).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('pipelines a large batch across every master', async () => {
    const store = new RedisBlobStore(connection, { prefix: freshPrefix() });
    try {
      const blobs = Array.from({ length: 5000 }, (_, i) => new TextEncoder().encode(`batch blob ${i}`));
      const hashes = await store.putMany(blobs);
      expect((await store.has(hashes)).every(Boolean)).toBe(true);
      // Every master holds some of them.
      const perNode = cluster.nodes.map((_, i) => Number(/keys=(\d+)/.exec(cluster.cli(i, 'info', 'keyspace'))?.[1] ?? 0));
      expect(perNode.every((k) => k > 1000)).toBe(true);
      const again = await store.putMany(blobs); // SET NX: a no-op
      expect(again.length).toBe(5000);
      let count = 0;
      for await (const _ of store.hashes()) count++;
      expect(count).toBe(5000);
    } finally {
      await store.close();
    }
  });

  it('100k blobs spread across the three masters within 20% of each other', async () => {
    const store = new RedisBlobStore(connection, { prefix: freshPrefix() });
    const dbsize = () => cluster.nodes.map((_, i) => Number(cluster.cli(i, 'dbsize').trim()));
    try {
      const before = dbsize();
      const hashes: Hash[] = [];
      for (let start = 0; start < 100_000; start += 10_000) {
        const blobs = Array.from({ length: 10_000 }, (_, i) => new TextEncoder().encode(`spread ${start + i}`));
        hashes.push(...(await store.putMany(blobs)));
      }
      const per = dbsize().map((n, i) => n - before[i]!);
      expect(per.reduce((a, b) => a + b, 0)).toBe(100_000);
      console.log(`100k blobs per master: ${per.join(', ')}`);
      expect(Math.max(...per) / Math.min(...per)).toBeLessThan(1.2);
      await store.delete(hashes);
    } finally {
      await store.close();
    }
  });

  it('an unreachable cluster is ERR_STORE_UNAVAILABLE quickly, not a hang', async () => {
    const t0 = Date.now();
    await expect(RedisBlobStore.connect('redis://127.0.0.1:1,127.0.0.1:2', { connectTimeout: 1000 })).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      reason: 'connect',
    });
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(RedisBlobStore.connect('redis://user:secret@127.0.0.1:1', { connectTimeout: 500 })).rejects.toThrow(/\*\*\*/);
  });

  it('a closed store fails typed', async () => {
    const store = await RedisBlobStore.connect(cluster.url);
    await store.close();
    await expect(store.get(sha256(new Uint8Array(1)))).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
  });
});
