// The commit policy on a real branch mount: `cp -a` of a tree is a few commits, not one per
// operation; setfattr user.cafs.commit, fsync of the root directory, a quiet period and
// `fusermount -u` commit; someone else's commit meanwhile is merged, not lost.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { mount, type CafsMount, type MountEvents } from '../src/index.js';

const HAVE_FUSE = existsSync('/dev/fuse') && existsSync('/usr/bin/fusermount');
const KV_SRC = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../kv/src');

function ok(cmd: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile('bash', ['-c', cmd], { timeout: 120_000 }, (err, stdout, stderr) => (err ? fail(new Error(`${cmd}: ${stderr}`)) : done(String(stdout))));
  });
}

async function log(repo: Repo, branch: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of repo.log(branch)) out.push(e.commit.message.split('\n')[0]!);
  return out;
}

async function headRoot(repo: Repo, branch: string): Promise<string> {
  return bytesToHex((await repo.readCommit(await repo.head(branch))).root);
}

describe.skipIf(!HAVE_FUSE)('@cafs/fuse: commit policy on a branch mount', () => {
  let tmp: string;
  let repo: Repo;
  const mounts: CafsMount[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cafs-commits-'));
    repo = await Repo.open();
    await repo.init();
  });
  afterAll(async () => {
    for (const m of mounts) await m.unmount().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  });

  it('cp -a is not a commit per operation; setfattr, fsync of the root and fusermount -u commit', async () => {
    await repo.createBranch('cp', 'main');
    const dir = join(tmp, 'cp');
    // A quiet period longer than the test: only the explicit triggers commit.
    const m = await mount({ repo, branch: 'cp' }, dir, { handleSignals: false, commits: { quietMs: 600_000, maxDelayMs: 600_000 } });
    mounts.push(m);
    await ok(`cp -a '${KV_SRC}' '${dir}/kv' && chmod -R go-w '${dir}/kv' && touch '${dir}/kv'`);
    expect(await log(repo, 'cp')).toEqual(['init']);
    // Every change is a root at once, readable as user.cafs.root, before any commit.
    const root = (await ok(`getfattr --only-values -n user.cafs.root '${dir}'`)).trim();
    expect(root).toBe(bytesToHex(await m.currentRoot()));
    expect(Buffer.from(await repo.fs.readFile(await m.currentRoot(), '/kv/index.ts')).equals(await readFile(join(KV_SRC, 'index.ts')))).toBe(true);

    await ok(`setfattr -n user.cafs.commit -v 'copy kv sources' '${dir}'`);
    expect(await log(repo, 'cp')).toEqual(['copy kv sources', 'init']);
    expect(await headRoot(repo, 'cp')).toBe(root);
    // Set again with nothing new: no empty commit.
    await ok(`setfattr -n user.cafs.commit -v 'nothing' '${dir}'`);
    expect(await log(repo, 'cp')).toHaveLength(2);
    // The xattr is a trigger, never stored.
    expect(await ok(`getfattr -d '${dir}'`)).not.toContain('user.cafs.commit');

    await ok(`echo one > '${dir}/a' && echo two > '${dir}/b'`);
    await ok(`python3 -c "import os; fd = os.open('${dir}', os.O_RDONLY); os.fsync(fd)"`);
    expect((await log(repo, 'cp'))[0]).toBe('2 changes: write /a, write /b');

    await ok(`rm '${dir}/a' && mkdir '${dir}/d'`);
    const unmounted = new Promise<void>((done) => m.events.once('unmounted', () => done()));
    await ok(`fusermount -u '${dir}'`);
    await unmounted;
    expect(await log(repo, 'cp')).toEqual(['2 changes: unlink /a, mkdir /d', '2 changes: write /a, write /b', 'copy kv sources', 'init']);
    expect(await headRoot(repo, 'cp')).toBe(bytesToHex(m.root));
    const tree = await repo.fs.readdir(m.root, '/');
    expect(tree.sort()).toEqual(['b', 'd', 'kv']);
  });

  it('a checkout commits what was not committed yet, then the checkout', async () => {
    await repo.createBranch('co', 'main');
    const dir = join(tmp, 'co');
    const m = await mount({ repo, branch: 'co' }, dir, { handleSignals: false, commits: { quietMs: 600_000 } });
    mounts.push(m);
    await ok(`echo kept > '${dir}/kept'`);
    await m.checkout('main');
    expect(await log(repo, 'co')).toEqual(['checkout main', 'write /kept', 'init']);
    expect(await headRoot(repo, 'co')).toBe(await headRoot(repo, 'main'));
    await m.unmount();
  });

  it('commits after a quiet period, and merges a commit someone else made meanwhile', async () => {
    await repo.createBranch('quiet', 'main');
    const dir = join(tmp, 'quiet');
    const m = await mount({ repo, branch: 'quiet' }, dir, { handleSignals: false, commits: { quietMs: 100 } });
    mounts.push(m);
    const committed = (): Promise<MountEvents['committed'][0]> => new Promise((done) => m.events.once('committed', done));
    let next = committed();
    await ok(`echo mine > '${dir}/mine'`);
    const first = await next;
    expect(first.message).toBe('write /mine');
    expect(first.merged).toBe(false);
    expect(bytesToHex(first.root)).toBe(await headRoot(repo, 'quiet'));

    // Someone else commits on the branch while the mount has a change not yet committed.
    next = committed();
    await ok(`echo more > '${dir}/more'`);
    const head = await repo.head('quiet');
    await repo.commit('quiet', await repo.fs.writeFile((await repo.readCommit(head)).root, '/theirs', 'theirs\n'), 'someone else', { expect: head });
    const merged = await next;
    expect(merged.merged).toBe(true);
    expect(merged.conflicts).toEqual([]);
    // Both sides are in the branch and in the mount; history keeps both commits.
    expect(await readFile(join(dir, 'theirs'), 'utf8')).toBe('theirs\n');
    expect(await readFile(join(dir, 'more'), 'utf8')).toBe('more\n');
    expect(bytesToHex(await m.currentRoot())).toBe(await headRoot(repo, 'quiet'));
    const messages = await log(repo, 'quiet');
    expect(messages).toContain('someone else');
    expect(messages).toContain('write /more');
    const c = await repo.readCommit(await repo.head('quiet'));
    expect(c.parents).toHaveLength(2);
    await m.unmount();
  });
});
