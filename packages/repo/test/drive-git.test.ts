import git from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import { Repo } from '../src/repo.js';
import { Drive } from '../src/drive/drive.js';

let t = 1_700_000_000_000_000_000n;
const clock = () => (t += 1_000_000n);
const author = { name: 'Ada', email: 'ada@example.com', timestamp: 1_700_000_000, timezoneOffset: 0 };

describe('isomorphic-git runs on a Drive', () => {
  it('init, add, commit, log, statusMatrix; the objects live in the drive and its commits', async () => {
    const repo = await Repo.open({ now: clock });
    await repo.init();
    const drive = await Drive.open(repo, 'main');
    const fs = drive.nodeFs();
    const dir = '/';

    await git.init({ fs, dir, defaultBranch: 'main' });
    expect(await drive.readFile('/.git/HEAD', 'utf8')).toBe('ref: refs/heads/main\n');
    await drive.writeFile('/README.md', '# hello\n');
    await drive.mkdir('/src');
    await drive.writeFile('/src/index.js', 'console.log(1)\n');
    await git.add({ fs, dir, filepath: 'README.md' });
    await git.add({ fs, dir, filepath: 'src/index.js' });
    const sha = await git.commit({ fs, dir, message: 'first', author });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);

    const log = await git.log({ fs, dir });
    expect(log).toHaveLength(1);
    expect(log[0]!.oid).toBe(sha);
    expect(log[0]!.commit.message).toBe('first\n');
    expect(log[0]!.commit.author.name).toBe('Ada');

    const matrix = await git.statusMatrix({ fs, dir });
    expect(matrix).toEqual([
      ['README.md', 1, 1, 1],
      ['src/index.js', 1, 1, 1],
    ]);

    await drive.writeFile('/src/index.js', 'console.log(2)\n');
    const after = await git.statusMatrix({ fs, dir });
    expect(after).toEqual([
      ['README.md', 1, 1, 1],
      ['src/index.js', 1, 2, 1],
    ]);
    expect(await git.status({ fs, dir, filepath: 'src/index.js' })).toBe('*modified');
    await git.add({ fs, dir, filepath: 'src/index.js' });
    const sha2 = await git.commit({ fs, dir, message: 'second', author });
    expect((await git.log({ fs, dir })).map((e) => e.oid)).toEqual([sha2, sha]);
    expect(new TextDecoder().decode((await git.readBlob({ fs, dir, oid: sha, filepath: 'src/index.js' })).blob)).toBe('console.log(1)\n');

    // The git objects really are files in the drive.
    const objects = (await drive.readdir('/.git/objects')) as string[];
    expect(objects.filter((n) => /^[0-9a-f]{2}$/.test(n)).length).toBeGreaterThan(0);
    expect((await drive.readFile('/.git/refs/heads/main', 'utf8')).trim()).toBe(sha2);

    // After a cafs commit, a read-only checkout of it still holds the git repository.
    await drive.commit('git repo inside cafs');
    const snap = await drive.checkout('main');
    const sfs = snap.nodeFs();
    expect((await git.log({ fs: sfs, dir })).map((e) => e.oid)).toEqual([sha2, sha]);
    expect(await git.resolveRef({ fs: sfs, dir, ref: 'HEAD' })).toBe(sha2);
    expect((await snap.readdir('/.git/objects')).length).toBe(objects.length);
    // Reads work on the snapshot; writes do not.
    await expect(git.commit({ fs: sfs, dir, message: 'nope', author })).rejects.toMatchObject({ code: 'EROFS' });
  });
});
