import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hashToHex } from '@cafs/kv';
import { Repo, RepoError } from '../src/index.js';

let t = 1_700_000_000_000_000_000n;
const clock = () => (t += 1_000_000n);
const newRepo = () => Repo.open({ now: clock });
const hex = (h: Uint8Array) => bytesToHex(h);

describe('repository: branches, tags, commits, refs, history', () => {
  it('commits move branches; refs resolve as hashes, names, ~N and :path', async () => {
    const repo = await newRepo();
    const c0 = await repo.init();
    const head0 = await repo.resolve('main');
    let root = await repo.fs.writeFile(head0.root, '/a.txt', 'one');
    const c1 = await repo.commit('main', root, 'add a');
    root = await repo.fs.writeFile(root, '/a.txt', 'two');
    const c2 = await repo.commit('main', root, 'change a');
    expect(hex(await repo.head('main'))).toBe(hex(c2));
    expect(hex((await repo.resolve('main~1')).commit!)).toBe(hex(c1));
    expect(hex((await repo.resolve('main~2')).commit!)).toBe(hex(c0));
    expect(hex((await repo.resolve('main~~')).commit!)).toBe(hex(c0));
    expect(hex((await repo.resolve(hashToHex(c1))).commit!)).toBe(hex(c1));
    const byRoot = await repo.resolve(hashToHex(root));
    expect(byRoot.commit).toBeUndefined();
    expect(hex(byRoot.root)).toBe(hex(root));
    const withPath = await repo.resolve('main~1:/a.txt');
    expect(withPath.path).toBe('/a.txt');
    expect(new TextDecoder().decode(await repo.fs.readFile(withPath.root, withPath.path!))).toBe('one');

    await repo.createTag('v1', 'main~1');
    await repo.createBranch('feature', 'v1');
    expect((await repo.branches()).map((b) => b.name)).toEqual(['feature', 'main']);
    expect(hex((await repo.resolve('feature')).commit!)).toBe(hex(c1));
    expect(hex((await repo.resolve('refs/tags/v1')).commit!)).toBe(hex(c1));

    const log = [];
    for await (const e of repo.log('main')) log.push(e.commit.message);
    expect(log).toEqual(['change a', 'add a', 'init']);
    const limited = [];
    for await (const e of repo.log('main', { limit: 2 })) limited.push(e.commit.message);
    expect(limited).toEqual(['change a', 'add a']);
  });

  it('bad names and refs give typed errors', async () => {
    const repo = await newRepo();
    await repo.init();
    const code = (p: Promise<unknown>) => p.then(() => undefined, (e: RepoError) => e.code);
    expect(await code(repo.createBranch('bad name', 'main'))).toBe('EINVAL');
    expect(await code(repo.createBranch('a..b', 'main'))).toBe('EINVAL');
    expect(await code(repo.createBranch('main', 'main'))).toBe('EEXIST');
    expect(await code(repo.resolve('nope'))).toBe('ERR_UNKNOWN_REF');
    expect(await code(repo.resolve('main~5'))).toBe('ERR_UNKNOWN_REF');
    expect(await code(repo.resolve('0'.repeat(64)))).toBe('ERR_UNKNOWN_REF');
    expect(await code(repo.init())).toBe('EEXIST');
    const stale = await repo.head('main');
    await repo.commit('main', (await repo.resolve('main')).root, 'x');
    expect(await code(repo.commit('main', (await repo.resolve('main')).root, 'y', { expect: stale }))).toBe('ERR_CONFLICT');
  });

  it('two writers racing on one branch lose no update (1,000 commits each)', async () => {
    const repo = await newRepo();
    await repo.init();
    const writer = async (name: string) => {
      for (let i = 0; i < 1000; i++) {
        for (;;) {
          const head = await repo.head('main');
          const { root } = await repo.resolve(hashToHex(head));
          const next = await repo.fs.writeFile(root, `/${name}-${i}`, `${i}`);
          try {
            await repo.commit('main', next, `${name} ${i}`, { expect: head });
            break;
          } catch (err) {
            if ((err as RepoError).code !== 'ERR_CONFLICT') throw err;
          }
        }
      }
    };
    await Promise.all([writer('a'), writer('b')]);
    const { root } = await repo.resolve('main');
    const names = await repo.fs.readdir(root, '/');
    expect(names.length).toBe(2000);
    let commits = 0;
    for await (const _ of repo.log('main')) commits++;
    expect(commits).toBe(2001);
  });

  it('a repository on disk keeps branches and history across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cafs-repo-'));
    try {
      let repo = await Repo.open({ path: dir, now: clock });
      await repo.init();
      const root = await repo.fs.writeFile((await repo.resolve('main')).root, '/f', 'persisted');
      const c = await repo.commit('main', root, 'persist');
      await repo.close();
      repo = await Repo.open({ path: dir, now: clock });
      expect(hex(await repo.head('main'))).toBe(hex(c));
      const r = await repo.resolve('main:/f');
      expect(new TextDecoder().decode(await repo.fs.readFile(r.root, r.path!))).toBe('persisted');
      await repo.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('repository garbage collection, wired', () => {
  it('repo.gc() prunes history; log and ~N stop at what was dropped; a drive keeps its uncommitted root', async () => {
    const repo = await newRepo();
    await repo.init();
    const drive = await repo.drive('main');
    for (let i = 0; i < 5; i++) {
      await drive.writeFile(`/f${i}`, new Uint8Array(50_000).fill(i + 1));
      await drive.commit(`commit ${i}`);
    }
    await drive.writeFile('/uncommitted', new Uint8Array(60_000).fill(9));
    const report = await repo.gc({ keepLast: 2, graceMs: 0 });
    expect(report.blobsDeleted).toBeGreaterThan(0);
    const messages: string[] = [];
    for await (const e of repo.log('main')) messages.push(e.commit.message);
    expect(messages).toEqual(['commit 4', 'commit 3']);
    expect(await repo.resolve('main~1').then((r) => r.commit !== undefined)).toBe(true);
    expect(await repo.resolve('main~2').then(() => 'ok', (e: RepoError) => e.code)).toBe('ERR_COLLECTED');
    // The drive's working root was held: it still reads completely.
    expect((await drive.readFile('/uncommitted')).length).toBe(60_000);
    expect((await drive.readFile('/f0')).length).toBe(50_000);
    await drive.commit('after gc');
    const { root } = await repo.resolve('main');
    expect(await repo.fs.readdir(root, '/')).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'uncommitted']);
  });
});
