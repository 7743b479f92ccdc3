// A remote branch mounted read/write (issue 20): reads fetch as they go, changes stay in the
// mount process until `cafs push --mount DIR` (or the unmount) sends them to `cafs serve --allow-push`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from './run-cafs.js';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);
const HAVE_FUSE = existsSync('/dev/fuse');
const TOKEN = 'a-long-enough-token-for-pushes';
const env = { ...process.env, CAFS_TOKEN: TOKEN };
const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [BIN, ...args], { env })).stdout;
/** A shell command run inside `dir` (it cds there itself: a child whose cwd is in the mount would deadlock it). */
const inside = (dir: string, script: string) => run('sh', ['-c', `cd '${dir}' && ${script}`]);

let work: string;
let server: ChildProcess;
let base: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-lazy-rw-'));
  const src = join(work, 'src');
  mkdirSync(join(src, 'docs'), { recursive: true });
  writeFileSync(join(src, 'docs', 'a.txt'), 'a\n');
  writeFileSync(join(src, 'big.bin'), Buffer.alloc(3 << 20, 5));
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  await cli('init', '--repo', join(work, 'repo'));
  await cli('import', src, '--repo', join(work, 'repo'), '-m', 'tree');
  ({ child: server, url: base } = await startServe(join(work, 'repo'), '--allow-push', '--token-file', join(work, 'token')));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await run('fusermount', ['-uz', join(work, 'mnt')]).catch(() => undefined);
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!HAVE_FUSE)('a remote branch, mounted read/write', () => {
  it('keeps changes in the mount until pushed; push --mount and the unmount send them', async () => {
    const mnt = join(work, 'mnt');
    const child = spawn(process.execPath, [BIN, 'mount', `${base}/b/main`, mnt, '--writable', '--commit-every', '0.2'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.push(child);
    let output = '';
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('mounted ')) res();
      });
      void exited.then((c) => rej(new Error(`mount exited ${c}: ${output}`)));
    });
    expect(output).toMatch(/read\/write on branch main/);
    // Reads come from the server; writes stay here.
    expect((await inside(mnt, 'cat docs/a.txt')).stdout).toBe('a\n');
    await inside(mnt, `echo b > docs/b.txt && printf 'a2\\n' >> docs/a.txt && mkdir -p new && cp docs/b.txt new/c.txt`);
    expect((await cli('cat', `${base}/b/main/docs/a.txt`))).toBe('a\n');
    await expect(cli('cat', `${base}/b/main/docs/b.txt`)).rejects.toThrow();
    // Pushed on request: the server's branch has them.
    const pushed = JSON.parse(await cli('push', '--mount', mnt, '--json')) as { commit: string; detail: string };
    expect(pushed.detail).toMatch(/sent \d+ blobs/);
    expect(await cli('cat', `${base}/b/main/docs/b.txt`)).toBe('b\n');
    expect(await cli('cat', `${base}/b/main/docs/a.txt`)).toBe('a\na2\n');
    expect(await cli('cat', `${base}/b/main/new/c.txt`)).toBe('b\n');
    expect(await cli('log', '--repo', join(work, 'repo'), '--oneline')).toMatch(new RegExp(`^${pushed.commit.slice(0, 12)} `));
    // Nothing new: up to date.
    expect(JSON.parse(await cli('push', '--mount', mnt, '--json')).detail).toBe('up to date');
    // What is left at unmount is pushed then.
    await inside(mnt, 'rm docs/b.txt && echo last > last.txt');
    await run('fusermount', ['-u', mnt]);
    expect(await exited).toBe(0);
    expect(output).toMatch(/pushed at unmount/);
    expect(await cli('cat', `${base}/b/main/last.txt`)).toBe('last\n');
    await expect(cli('cat', `${base}/b/main/docs/b.txt`)).rejects.toThrow();
    // A local branch mount has nothing to push to; a root URL cannot be writable.
    await expect(cli('push', '--mount', join(work, 'nowhere'))).rejects.toThrow(/no cafs branch mount/);
    await expect(cli('mount', `${base}/r/${'0'.repeat(64)}`, join(work, 'm2'), '--writable')).rejects.toThrow(/--writable needs a branch URL/);
  }, 120_000);
});
