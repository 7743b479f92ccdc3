// Hard links through `cafs mount` as a user runs it: links made in a branch mount are commits
// like any change; a new mount of the branch (a new process, an empty kernel cache) and a
// read-only mount of the commit show each link group as one inode (same st_ino, the right link
// count) and the content shared.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, startMount as startCafsMount, stopProcess } from './run-cafs.js';

const run = promisify(execFile);
const canMount = existsSync('/dev/fuse') && existsSync('/bin/fusermount');
const work = mkdtempSync(join(tmpdir(), 'cafs-cli-links-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const d of ['rw', 'again', 'ro']) await run('fusermount', ['-uz', join(work, d)]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** Starts `cafs mount ...` and waits for its "mounted" line. */
const startMount = async (args: string[]): Promise<ChildProcess> => {
  const child = await startCafsMount(work, args);
  children.push(child);
  return child;
};
const stop = stopProcess;

/** `sh -c` (never with a cwd in a mount: the FUSE server is another process here, but keep the habit). */
const sh = async (cmd: string): Promise<string> => (await run('sh', ['-c', cmd])).stdout;

/** Link count and inode number of each name. */
const links = (dir: string, names: string[]): Promise<string> => sh(`cd '${dir}' && stat -c '%n %h %i' ${names.join(' ')}`);

describe.skipIf(!canMount)('cafs mount: hard links', () => {
  it('links made in a branch mount are committed; a new mount and a read-only mount show each group as one inode', async () => {
    const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { cwd: work });
    await cli('init');
    const rw = join(work, 'rw');
    const m = await startMount(['mount', 'main', rw]);
    await sh(`cd '${rw}' && mkdir -p a b && printf shared > a/one && ln a/one b/two && ln b/two three && printf solo > four && ln four b/five && rm four`);
    await stop(m);
    expect((await cli('cat', 'main:/three')).stdout).toBe('shared');
    expect((await cli('cat', 'main:/b/five')).stdout).toBe('solo');

    // A new process, a new kernel cache: every count right at once, one number per group.
    const again = join(work, 'again');
    const m2 = await startMount(['mount', 'main', again]);
    const seen = (await links(again, ['a/one', 'b/two', 'three', 'b/five'])).trim().split('\n');
    const [one, two, three, five] = seen.map((l) => l.split(' '));
    expect([one![1], two![1], three![1], five![1]]).toEqual(['3', '3', '3', '1']);
    expect(new Set([one![2], two![2], three![2]]).size).toBe(1);
    expect(five![2]).not.toBe(one![2]);
    // Written through one name, read through another; then one more commit.
    expect(await sh(`cd '${again}' && printf ' more' >> three && cat a/one`)).toBe('shared more');
    await stop(m2);
    expect((await cli('cat', 'main:/b/two')).stdout).toBe('shared more');

    // A read-only mount of the commit (kernel caches for a day): the same groups.
    const ro = join(work, 'ro');
    const m3 = await startMount(['mount', 'main', ro, '--ro']);
    const inRo = (await links(ro, ['a/one', 'b/two', 'three', 'b/five'])).trim().split('\n').map((l) => l.split(' '));
    expect(inRo.map((l) => l[1])).toEqual(['3', '3', '3', '1']);
    expect(new Set(inRo.slice(0, 3).map((l) => l[2])).size).toBe(1);
    expect(await sh(`cd '${ro}' && find . -samefile three | sort && cat b/two`)).toBe('./a/one\n./b/two\n./three\nshared more');
    const refused = await run('sh', ['-c', `cd '${ro}' && ln three four`]).catch((e: { stderr: string }) => e);
    expect((refused as { stderr: string }).stderr).toContain('Read-only file system');
    await stop(m3);
  }, 120_000);
});
