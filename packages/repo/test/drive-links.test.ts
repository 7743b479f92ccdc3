import { describe, expect, it } from 'vitest';
import { Repo } from '../src/repo.js';
import { Drive } from '../src/drive/drive.js';

let t = 1_700_000_000_000_000_000n;
const clock = () => (t += 1_000_000n);
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('Drive: hard links', () => {
  it('link gives a second name to one inode, as node:fs does', async () => {
    const repo = await Repo.open({ now: clock });
    await repo.init();
    const drive = await Drive.open(repo, 'main');
    await drive.mkdir('/dir');
    await drive.writeFile('/dir/a', 'first');
    await drive.link('/dir/a', '/b');
    const [a, b] = [await drive.stat('/dir/a'), await drive.stat('/b')];
    expect([a.nlink, b.nlink]).toEqual([2, 2]);
    expect(a.ino).toBe(b.ino);
    expect(a.ino).not.toBe((await drive.stat('/dir')).ino);
    // Writes through either name reach the other.
    await drive.appendFile('/b', ' second');
    expect(await drive.readFile('/dir/a', 'utf8')).toBe('first second');
    await drive.chmod('/dir/a', 0o600);
    expect((await drive.stat('/b')).mode & 0o777).toBe(0o600);
    // The link survives a commit and a fresh checkout of the branch.
    await drive.commit('links');
    const again = await Drive.open(repo, 'main');
    expect((await again.stat('/b')).nlink).toBe(2);
    // Removing one name leaves the other, with the data.
    await drive.rm('/dir', { recursive: true });
    expect(await drive.readFile('/b', 'utf8')).toBe('first second');
    expect((await drive.stat('/b')).nlink).toBe(1);
    expect(await code(drive.link('/nope', '/c'))).toBe('ENOENT');
    expect(await code(drive.link('/b', '/b'))).toBe('EEXIST');
    await drive.mkdir('/d2');
    expect(await code(drive.link('/d2', '/d3'))).toBe('EPERM');
    // The node:fs-shaped adapter has it too.
    const nodeFs = drive.nodeFs();
    await nodeFs.promises.link('/b', '/c');
    expect((await drive.lstat('/c')).nlink).toBe(2);
  });
});

describe('fsck and hard links', () => {
  it('a tree with links is sound; a link record naming no inode is reported', async () => {
    const { fsck, Repo: R } = await import('../src/index.js');
    const { encodeLinkRecord, infoKey } = await import('@cafs/fs');
    const repo = await R.open({ now: clock });
    await repo.init();
    const drive = await Drive.open(repo, 'main');
    await drive.writeFile('/a', 'x');
    await drive.link('/a', '/b');
    await drive.commit('linked');
    expect(await fsck(repo)).toMatchObject({ ok: true });
    // A damaged tree: /c's record names /nothing/.
    const head = (await repo.log('main').next()).value!;
    const enc = new TextEncoder();
    const bad = await repo.fs.tree.put(head.commit.root, infoKey([enc.encode('c')]), encodeLinkRecord(infoKey([enc.encode('nothing')])));
    await repo.commit('main', bad, 'damaged');
    const report = await fsck(repo);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.detail).join('\n')).toMatch(/hard link \/c.*does not exist/);
  });
});
