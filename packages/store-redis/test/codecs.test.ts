// Stored-blob codecs on the cluster (the shared suites), and repositories over coded stores:
// the same roots as a plain repository, sync between the two, and garbage collection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodecBlobStore, MemoryBlobStore, Tree, bytesToHex, storeStats, type BlobStore, type CodecOpenOptions, type Hash } from '@cafs/kv';
import { codecConformance, rawBlobStoreConformance, CODEC_VARIANTS, TEST_SECRET } from '@cafs/kv/testing';
import { Repo, fsck, guardStore, sync, LevelNameStore } from '@cafs/repo';
import { RedisBlobStore, RedisConnection, openRedis } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
let connection: RedisConnection;
let n = 0;
const freshPrefix = () => `codec${process.pid}-${++n}:`;

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = (await RedisConnection.connect(cluster.url)).acquire();
});
afterAll(async () => {
  await connection?.release();
  await cluster?.stop();
});

const redis = {
  open: async (options?: { verify?: boolean; maxBlobSize?: number }) => new RedisBlobStore(connection, { ...options, prefix: freshPrefix() }),
  overwrite: async (store: BlobStore, key: Uint8Array, bytes: Uint8Array) => {
    const s = store as RedisBlobStore;
    await s.client.set(s.key(key), Buffer.from(bytes));
  },
};
rawBlobStoreConformance('redis cluster (3 masters)', redis);
codecConformance('redis cluster (3 masters)', redis);

const hex = (h: Uint8Array): string => bytesToHex(h);

/** The same changes made through any repository: a few files, commits, a branch. */
async function history(repo: Repo): Promise<Hash[]> {
  await repo.init();
  const drive = await repo.drive('main');
  const heads: Hash[] = [];
  for (let i = 0; i < 4; i++) {
    await drive.writeFile(`/f${i}.txt`, `version ${i} `.repeat(3000));
    await drive.mkdir(`/d${i}`, { recursive: true });
    await drive.writeFile(`/d${i}/random.bin`, Buffer.from(Array.from({ length: 70_000 }, (_, j) => (j * 2654435761 + i) >>> 24)));
    heads.push(await drive.commit(`v${i}`));
  }
  await drive.rm('/f0.txt');
  heads.push(await drive.commit('rm'));
  return heads;
}

async function count(store: { hashes(): AsyncIterable<Hash> }): Promise<number> {
  let k = 0;
  for await (const _ of store.hashes()) k++;
  return k;
}

describe('repositories over coded stores', () => {
  const variants: { name: string; options: CodecOpenOptions }[] = [{ name: 'plain', options: {} }, ...CODEC_VARIANTS];

  it('the same changes give the same commits and roots under every codec, in memory and on the cluster', async () => {
    const results: string[][] = [];
    for (const v of variants) {
      // A fixed clock, so commits (which hold times) are the same blobs.
      let t = 1_700_000_000_000_000_000n;
      const now = () => (t += 1_000_000n);
      const mem = await Repo.open({ codecs: v.options, now });
      results.push((await history(mem)).map(hex));
      await mem.close();
      const opened = await openRedis(cluster.url, { prefix: freshPrefix(), codecs: v.options });
      t = 1_700_000_000_000_000_000n;
      const onCluster = new Repo({ ...opened, now });
      results.push((await history(onCluster)).map(hex));
      await onCluster.close();
    }
    for (const r of results) expect(r).toEqual(results[0]);
  });

  it('sync between a plain and a sealed, compressed repository just works, both ways', async () => {
    const plain = await Repo.open();
    const heads = await history(plain);
    const coded = await Repo.open({ codecs: { compress: { level: 3 }, encrypt: true, secret: TEST_SECRET } });
    const report = await sync(plain.store, coded.store, { want: [heads.at(-1)!] });
    expect(report.blobs).toBeGreaterThan(0);
    const root = (await plain.resolve('main')).root;
    for (const path of ['/f1.txt', '/d3/random.bin']) expect(hex(await coded.fs.readFile(root, path))).toBe(hex(await plain.fs.readFile(root, path)));
    const back = await Repo.open();
    await sync(coded.store, back.store, { want: [heads.at(-1)!] });
    expect(await count(back.store)).toBe(await count(coded.store));
    const st = await storeStats((coded.store as unknown as { inner: BlobStore }).inner);
    expect(st.codec).toBe('zstd:3+sealed');
    expect(st.storedBytes).toBeLessThan(st.logicalBytes);
    for (const r of [plain, coded, back]) await r.close();
  });

  for (const v of CODEC_VARIANTS) {
    it(`gc (full, incremental, keepLast) deletes exactly the unreachable blobs under ${v.name}`, async () => {
      const inner = (await Repo.open({ codecs: v.options })).store as unknown as { inner: CodecBlobStore };
      const codecStore = inner.inner;
      const raw = codecStore.raw as MemoryBlobStore;
      const repo = new Repo({ store: guardStore(codecStore), names: new LevelNameStore(raw.db) });
      await history(repo);
      const head = await repo.resolve('main');
      await repo.fs.writeFile(head.root, '/orphan', 'never committed '.repeat(500));
      const full = await repo.gc({ mode: 'full', graceMs: 0 });
      expect(full.blobsDeleted).toBeGreaterThan(0);
      expect(full.bytesDeleted).toBeGreaterThanOrEqual(8_000);
      expect(await count(repo.store)).toBe(full.blobsKept + full.blobsProtected);
      expect(await count(raw)).toBe(full.blobsKept + full.blobsProtected);
      const pruned = await repo.gc({ keepLast: 1, graceMs: 0 });
      expect(pruned.blobsDeleted).toBeGreaterThan(0);
      expect(await count(raw)).toBe(pruned.blobsKept + pruned.blobsProtected);
      const incremental = await repo.gc({ graceMs: 0 });
      expect(incremental.blobsDeleted).toBe(0);
      // Everything the head needs is still there, and reads back through a fresh reader.
      const fresh = new Tree(repo.store, { cacheBytes: 1 });
      for await (const h of fresh.reachableNodes(head.root)) await repo.store.get(h);
      for (let i = 1; i < 4; i++) expect(new TextDecoder().decode(await repo.fs.readFile(head.root, `/f${i}.txt`))).toContain(`version ${i}`);
      const report = await fsck(repo);
      expect(report.ok).toBe(true);
      expect(report.corrupt).toEqual([]);
      await repo.close();
    });
  }
});
