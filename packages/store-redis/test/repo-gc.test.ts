// Repository garbage collection on the cluster: hashes() over every master, pipelined delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tree, bytesToHex } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { openRedis, type RedisBlobStore } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function count(store: RedisBlobStore): Promise<number> {
  let n = 0;
  for await (const _ of store.hashes()) n++;
  return n;
}

describe('Repo gc on the Redis cluster', () => {
  it('full and incremental collections delete exactly the unreachable blobs', async () => {
    const opened = await openRedis(cluster.url, { prefix: 'gc:' });
    const repo = new Repo(opened);
    await repo.init();
    let root = (await repo.resolve('main')).root;
    for (let i = 0; i < 5; i++) {
      root = await repo.fs.writeFile(root, `/f${i}`, `version ${i} `.repeat(200));
      await repo.commit('main', root, `v${i}`);
    }
    // A root nobody keeps: garbage.
    await repo.fs.writeFile(root, '/orphan', 'never committed '.repeat(500));
    const before = await count(opened.blobs);

    const full = await repo.gc({ mode: 'full', graceMs: 0 });
    expect(full.blobsDeleted).toBeGreaterThan(0);
    // Left: the live set (gc writes its own state blobs too) and whatever it spared.
    expect(await count(opened.blobs)).toBe(full.blobsKept + full.blobsProtected);
    // The orphan's 8,000-byte chunk is reclaimed. (The blob count alone need not drop: the
    // collector writes its own state blobs, which can outnumber three garbage blobs.)
    expect(full.bytesDeleted).toBeGreaterThanOrEqual(8_000);
    expect(before).toBeGreaterThan(0);
    // What is left is exactly what the head needs, plus history and gc state: the head reads back.
    const head = await repo.resolve('main');
    for await (const h of new Tree(repo.store).reachableNodes(head.root)) await repo.store.get(h);
    for (let i = 0; i < 5; i++) expect(new TextDecoder().decode(await repo.fs.readFile(head.root, `/f${i}`))).toContain(`version ${i}`);

    // Pruning history to the last commit frees the old versions' blobs.
    const pruned = await repo.gc({ keepLast: 1, graceMs: 0 });
    expect(pruned.blobsDeleted).toBeGreaterThan(0);
    expect(await count(opened.blobs)).toBe(pruned.blobsKept + pruned.blobsProtected);
    expect(bytesToHex((await repo.resolve('main')).root)).toBe(bytesToHex(head.root));
    for (let i = 0; i < 5; i++) expect(new TextDecoder().decode(await repo.fs.readFile(head.root, `/f${i}`))).toContain(`version ${i}`);
    await repo.close();
  });
});
