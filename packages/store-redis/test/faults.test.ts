// Faults on a real cluster: a master dies mid-workload, then comes back (append-only file).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tree, bytesToHex, type Hash } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { RedisBlobStore, openRedis } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ persist: true, nodeTimeout: 1000 });
});

afterAll(async () => {
  await cluster?.stop();
});

const TIMEOUT = 1500;

async function fsck(repo: Repo, root: Hash, files: Map<string, string>): Promise<void> {
  // Every tree node reachable from the root is there and verifies (get checks the hash)...
  for await (const h of new Tree(repo.store).reachableNodes(root)) await repo.store.get(h);
  // ... and so does every file's content.
  for (const [path, text] of files) expect(new TextDecoder().decode(await repo.fs.readFile(root, path))).toBe(text);
}

describe('faults', () => {
  it('a master stopped mid-workload gives typed errors, never a hang; after it is back nothing is lost', async () => {
    const repo = new Repo(await openRedis(cluster.url, { prefix: 'faults:', timeout: TIMEOUT, cacheBytes: 0 }));
    await repo.init();
    const retained: { root: Hash; files: Map<string, string> }[] = [];
    const files = new Map<string, string>();
    let root = (await repo.resolve('main')).root;
    for (let i = 0; i < 20; i++) {
      const text = `file ${i} ${bytesToHex(randomBytes(8))}`;
      root = await repo.fs.writeFile(root, `/f${i}`, text);
      files.set(`/f${i}`, text);
    }
    await repo.commit('main', root, 'before the fault');
    retained.push({ root, files: new Map(files) });

    const acknowledged: Hash[] = [];
    const errors: unknown[] = [];
    let slowest = 0;
    const step = async () => {
      const blobs = Array.from({ length: 30 }, () => randomBytes(200));
      const t0 = Date.now();
      try {
        acknowledged.push(...(await repo.store.putMany(blobs)));
        return true;
      } catch (err) {
        errors.push(err);
        return false;
      } finally {
        slowest = Math.max(slowest, Date.now() - t0);
      }
    };
    for (let i = 0; i < 10; i++) expect(await step()).toBe(true);

    await cluster.stopNode(1);
    const downSince = Date.now();
    while (errors.length < 3 && Date.now() - downSince < 15_000) await step();
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const e of errors) expect(e).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(slowest).toBeLessThan(TIMEOUT + 1500);
    // Names fail typed too (the names slot may be on any master: either an answer or a typed error).
    await repo.names.get('refs/heads/main').catch((e) => expect(e).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' }));

    await cluster.startNode(1);
    const upSince = Date.now();
    let recovered = false;
    while (!recovered && Date.now() - upSince < 30_000) {
      recovered = await step();
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    if (!recovered) console.log('not recovered:', (errors.at(-1) as Error)?.message, String((errors.at(-1) as Error)?.cause), cluster.cli(0, 'cluster', 'info').split('\n')[0]);
    expect(recovered).toBe(true);
    for (let i = 0; i < 5; i++) expect(await step()).toBe(true);

    // Everything acknowledged is there, the retained root checks out, and the repo works on.
    expect((await repo.store.has(acknowledged)).every(Boolean)).toBe(true);
    for (const h of acknowledged.slice(0, 50)) await repo.store.get(h);
    const head = await repo.resolve('main');
    expect(bytesToHex(head.root)).toBe(bytesToHex(retained[0]!.root));
    root = await repo.fs.writeFile(head.root, '/after', 'after the fault');
    files.set('/after', 'after the fault');
    await repo.commit('main', root, 'after the fault');
    retained.push({ root, files: new Map(files) });
    for (const r of retained) await fsck(repo, r.root, r.files);
    await repo.close();
  });
});

describe('faults: a hung master and authentication', () => {
  it('a master that stops answering (SIGSTOP) gives ERR_STORE_UNAVAILABLE within the timeout', async () => {
    const store = await RedisBlobStore.connect(cluster.url, { prefix: 'hung:', timeout: 800 });
    try {
      const hashes = await store.putMany(Array.from({ length: 60 }, () => randomBytes(64)));
      const pid = cluster.nodes[2]!.pid!;
      process.kill(pid, 'SIGSTOP');
      try {
        const t0 = Date.now();
        // 60 blobs cover every master: the batch needs the hung one.
        await expect(store.has(hashes)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
        expect(Date.now() - t0).toBeLessThan(3000);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await cluster.waitReady();
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        ok = await store.has(hashes).then((r) => r.every(Boolean), () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('password auth: the right password works, a wrong one is a typed error', async () => {
    const secured = await startRedisCluster({ password: 's3cret' });
    try {
      expect(secured.url).toContain(':s3cret@');
      const store = await RedisBlobStore.connect(secured.url);
      const h = await store.put(new TextEncoder().encode('behind a password'));
      expect(await store.has([h])).toEqual([true]);
      await store.close();
      const wrong = secured.url.replace('s3cret', 'wrong');
      await expect(RedisBlobStore.connect(wrong, { connectTimeout: 2000 })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(RedisBlobStore.connect(wrong, { connectTimeout: 2000 })).rejects.not.toThrow(/wrong/);
    } finally {
      await secured.stop();
    }
  });
});

describe('TLS', () => {
  it('rediss:// with a password reaches a TLS-only cluster; an untrusted certificate is a typed error', async () => {
    const secured = await startRedisCluster({ tls: true, password: 'tls-pw' });
    try {
      expect(secured.url.startsWith('rediss://')).toBe(true);
      const store = await RedisBlobStore.connect(secured.url, { tls: { ca: secured.ca } });
      const blobs = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`over tls ${i}`));
      const hashes = await store.putMany(blobs);
      expect(new TextDecoder().decode(await store.get(hashes[7]!))).toBe('over tls 7');
      await store.close();
      await expect(RedisBlobStore.connect(secured.url, { connectTimeout: 2000 })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    } finally {
      await secured.stop();
    }
  });
});
