// Roots travel to and from a Redis Cluster store like any other: a clone onto the cluster, a
// 10-file change fetched back to a LevelDB repository in proportion.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo, fetchRemote, pushBranch, repoRemote } from '@cafs/repo';
import { openRedis } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startRedisCluster();
  dir = mkdtempSync(join(tmpdir(), 'cafs-redis-sync-'));
});
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function files(repo: Repo, ref: string): Promise<Map<string, string>> {
  const { root } = await repo.resolve(ref);
  const out = new Map<string, string>();
  for (const name of await repo.fs.readdir(root, '/d')) out.set(name, bytesToHex(await repo.fs.readFile(root, '/d/' + name)));
  return out;
}

describe('sync with a Redis Cluster store', () => {
  it('pushes a LevelDB branch onto the cluster and fetches a change back', async () => {
    const disk = await Repo.open({ path: join(dir, 'disk') });
    await disk.init();
    const drive = await disk.drive('main');
    await drive.mkdir('/d');
    for (let i = 0; i < 300; i++) await drive.writeFile(`/d/f${i}`, `file ${i} `.repeat(300 + i));
    await drive.commit('300 files');

    const redis = new Repo(await openRedis(cluster.url, { prefix: 'sync:' }));
    const pushed = await pushBranch(disk, repoRemote(redis), 'cluster', 'main');
    expect(pushed.report.blobs).toBeGreaterThan(300);
    expect(bytesToHex(await redis.head('main'))).toBe(bytesToHex(await disk.head('main')));
    expect(await files(redis, 'main')).toEqual(await files(disk, 'main'));

    // A change made on the cluster side, fetched back: in proportion to it.
    const rd = await redis.drive('main');
    for (let i = 0; i < 10; i++) await rd.writeFile(`/d/f${i * 30}`, `changed ${i} `.repeat(400));
    await rd.commit('ten on the cluster');
    const f = await fetchRemote(disk, repoRemote(redis), 'cluster');
    expect(f.updated.map((u) => u.branch)).toEqual(['main']);
    expect(f.report.blobs).toBeLessThan(40);
    expect(await files(disk, 'cluster/main')).toEqual(await files(redis, 'main'));
    await redis.close();
    await disk.close();
  });
});
