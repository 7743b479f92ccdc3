import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, sha256 } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { CachedBlobStore, RedisConnection, RedisNameStore, openRedis } from '../src/index.js';
import { startRedisCluster, type TestCluster } from '../src/testing/index.js';

let cluster: TestCluster;
let connection: RedisConnection;
let n = 0;
const freshPrefix = () => `names${process.pid}-${++n}:`;
const h = (s: string) => sha256(new TextEncoder().encode(s));
const hex = (x: Uint8Array) => bytesToHex(x);

beforeAll(async () => {
  cluster = await startRedisCluster();
  connection = (await RedisConnection.connect(cluster.url)).acquire();
});

afterAll(async () => {
  await connection?.release();
  await cluster?.stop();
});

const worker = fileURLToPath(new URL('./fixtures/repo-worker.mjs', import.meta.url));
function run(...args: string[]): Promise<{ ok: boolean; error?: string; [k: string]: unknown }> {
  return new Promise((resolve, reject) => {
    const child = fork(worker, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let msg: { ok: boolean } | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('message', (m) => (msg = m as { ok: boolean }));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (msg === undefined) reject(new Error(`worker exited with ${code} and no answer`));
      else resolve(msg);
    });
  });
}

describe('RedisNameStore', () => {
  it('compare-and-swap: create, conflict with the actual value, move, delete; list in order; reflog', async () => {
    const names = new RedisNameStore(connection, { prefix: freshPrefix(), reflog: 3 });
    try {
      expect(await names.get('refs/heads/main')).toBeUndefined();
      await names.compareAndSwap('refs/heads/main', undefined, h('a'));
      await expect(names.compareAndSwap('refs/heads/main', undefined, h('b'))).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
        actual: hex(h('a')),
        expected: undefined,
      });
      await expect(names.compareAndSwap('refs/heads/main', h('x'), h('b'))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
      await names.compareAndSwap('refs/heads/main', h('a'), h('b'));
      expect(hex((await names.get('refs/heads/main'))!)).toBe(hex(h('b')));
      await names.compareAndSwap('refs/heads/zeta', undefined, h('z'));
      await names.compareAndSwap('refs/heads/alpha', undefined, h('y'));
      await names.compareAndSwap('refs/tags/v1', undefined, h('t'));
      const listed = [];
      for await (const [k, v] of names.list('refs/heads/')) listed.push([k, hex(v)]);
      expect(listed).toEqual([
        ['refs/heads/alpha', hex(h('y'))],
        ['refs/heads/main', hex(h('b'))],
        ['refs/heads/zeta', hex(h('z'))],
      ]);
      await names.compareAndSwap('refs/heads/zeta', h('z'), undefined);
      await expect(names.compareAndSwap('refs/heads/zeta', h('z'), undefined)).rejects.toMatchObject({ code: 'ERR_CONFLICT', actual: undefined });
      expect(await names.get('refs/heads/zeta')).toBeUndefined();
      const log = await names.reflog('refs/heads/main');
      expect(log.map((e) => [e.old, e.new])).toEqual([
        [hex(h('a')), hex(h('b'))],
        [undefined, hex(h('a'))],
      ]);
      expect(log[0]!.timeUs).toBeGreaterThan(1_600_000_000_000_000n);
    } finally {
      await names.close();
    }
  });

  it('a Repo runs on the cluster: init, commit, branch, tag, log, read back through a new connection', async () => {
    const prefix = freshPrefix();
    const repo = new Repo(await openRedis(cluster.url, { prefix }));
    await repo.init();
    let root = (await repo.resolve('main')).root;
    root = await repo.fs.writeFile(root, '/a.txt', 'one');
    await repo.commit('main', root, 'add a');
    await repo.createTag('v1', 'main');
    await repo.createBranch('feature', 'main');
    expect((await repo.branches()).map((b) => b.name)).toEqual(['feature', 'main']);
    await repo.close();

    const opened = await openRedis(cluster.url, { prefix });
    const again = new Repo(opened);
    const r = await again.resolve('v1:/a.txt');
    expect(new TextDecoder().decode(await again.fs.readFile(r.root, r.path!))).toBe('one');
    const log = [];
    for await (const e of again.log('main')) log.push(e.commit.message);
    expect(log).toEqual(['add a', 'init']);
    expect((opened.store as CachedBlobStore).stats.misses).toBeGreaterThan(0);
    await again.close();
  });

  it('two processes: one commits, the other sees it', async () => {
    const prefix = freshPrefix();
    const repo = new Repo(await openRedis(cluster.url, { prefix }));
    await repo.init();
    const wrote = await run(cluster.url, prefix, 'commit', '/from-child.txt', 'hello from another process');
    expect(wrote).toMatchObject({ ok: true });
    expect(hex(await repo.head('main'))).toBe(wrote.head);
    const r = await repo.resolve('main:/from-child.txt');
    expect(new TextDecoder().decode(await repo.fs.readFile(r.root, r.path!))).toBe('hello from another process');

    const next = await repo.fs.writeFile(r.root, '/from-parent.txt', 'and back');
    await repo.commit('main', next, 'parent');
    const read = await run(cluster.url, prefix, 'read', '/from-parent.txt');
    expect(read).toMatchObject({ ok: true, text: 'and back', head: hex(await repo.head('main')) });
    await repo.close();
  });

  it('two processes racing compare-and-swap commits on one branch lose no update', async () => {
    const prefix = freshPrefix();
    const repo = new Repo(await openRedis(cluster.url, { prefix }));
    await repo.init();
    const count = 25;
    const go = String(Date.now() + 1500);
    const [a, b] = await Promise.all([run(cluster.url, prefix, 'race', 'a', String(count), go), run(cluster.url, prefix, 'race', 'b', String(count), go)]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    const messages: string[] = [];
    for await (const e of repo.log('main')) messages.push(e.commit.message);
    expect(messages.length).toBe(2 * count + 1);
    const { root } = await repo.resolve('main');
    for (const id of ['a', 'b']) {
      for (let i = 0; i < count; i++) {
        expect(new TextDecoder().decode(await repo.fs.readFile(root, `/${id}-${i}`))).toBe(`${id} ${i}`);
      }
    }
    // Report how hard they raced (not asserted: scheduling decides).
    console.log(`racing commits: ${a.conflicts} + ${b.conflicts} conflicts retried`);
    await repo.close();
  });
});
