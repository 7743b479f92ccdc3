// History cut by garbage collection travels: a fetch or push from a pruned repository records
// the same ends at the destination, whose log, fsck and merge bases then agree with the source.
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '../src/repo.js';
import { fetchRemote, pushBranch, repoRemote } from '../src/sync/index.js';
import { fsck } from '../src/fsck.js';
import { mergeBase } from '../src/merge-refs.js';

async function pruned(): Promise<Repo> {
  const repo = new Repo();
  await repo.init();
  for (let i = 0; i < 10; i++) {
    const head = await repo.resolve('main');
    await repo.commit('main', await repo.fs.writeFile(head.root, `/f${i % 3}`, `v${i}`), `c${i}`);
  }
  const r = await repo.gc({ keepLast: 4, graceMs: 0 });
  expect(r.linksCut).toBe(1);
  return repo;
}

const messages = async (repo: Repo, ref: string): Promise<string[]> => {
  const out: string[] = [];
  for await (const e of repo.log(ref)) out.push(e.commit.message + (e.collected ? ' (cut)' : ''));
  return out;
};

describe('history cuts', () => {
  it('log marks where history ends; fsck is clean and counts the cut', async () => {
    const repo = await pruned();
    expect(await messages(repo, 'main')).toEqual(['c9', 'c8', 'c7', 'c6 (cut)']);
    expect(await fsck(repo)).toMatchObject({ ok: true, commits: 4, historyCuts: 1 });
    // A collection with a wider window cannot bring collected history back, and changes nothing.
    expect((await repo.gc({ graceMs: 0 })).blobsDeleted).toBe(0);
    expect(await messages(repo, 'main')).toEqual(['c9', 'c8', 'c7', 'c6 (cut)']);
    // Cuts of commits a later collection drops go with them.
    await repo.gc({ keepLast: 2, graceMs: 0 });
    expect((await repo.historyCuts()).size).toBe(1);
    expect(await messages(repo, 'main')).toEqual(['c9', 'c8 (cut)']);
  });

  it('fetch and push carry the cut; the destination fsck is clean', async () => {
    const source = await pruned();
    const dest = new Repo();
    await fetchRemote(dest, repoRemote(source), 'origin');
    expect(await messages(dest, 'origin/main')).toEqual(['c9', 'c8', 'c7', 'c6 (cut)']);
    expect(await fsck(dest)).toMatchObject({ ok: true, commits: 4, historyCuts: 1 });

    const target = new Repo();
    await pushBranch(source, repoRemote(target), 'up', 'main');
    expect(await messages(target, 'main')).toEqual(['c9', 'c8', 'c7', 'c6 (cut)']);
    expect(await fsck(target)).toMatchObject({ ok: true, historyCuts: 1 });
  });

  it('merging branches whose common history was collected is a clear error', async () => {
    const repo = new Repo();
    await repo.init();
    const fork = await repo.head('main');
    for (let i = 0; i < 3; i++) {
      const head = await repo.resolve('main');
      await repo.commit('main', await repo.fs.writeFile(head.root, `/m${i}`, 'm'), `m${i}`);
    }
    await repo.names.compareAndSwap('refs/heads/side', undefined, fork);
    for (let i = 0; i < 3; i++) {
      const head = await repo.resolve('side');
      await repo.commit('side', await repo.fs.writeFile(head.root, `/s${i}`, 's'), `s${i}`);
    }
    expect(bytesToHex((await mergeBase(repo, await repo.head('main'), await repo.head('side')))!)).toBe(bytesToHex(fork));
    await repo.gc({ keepLast: 2, graceMs: 0 });
    await expect(repo.merge('main', 'side')).rejects.toMatchObject({ code: 'ERR_COLLECTED', message: expect.stringMatching(/no common ancestor left/) });
    await expect(repo.resolve(bytesToHex(fork))).rejects.toMatchObject({ code: 'ERR_UNKNOWN_REF' });
  });
});
