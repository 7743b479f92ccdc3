// `cafs mount` ended from outside, as docs/cli.md says it may be: `fusermount -u DIR` (or
// `umount DIR` as root) unmounts, and the mount process notices, makes its last commit, releases
// the repository and exits 0 (issue 26, defect 1: it used to keep running and keep the lock).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cafs = join(root, 'packages/cli/dist/main.js');
const canMount = existsSync('/dev/fuse') && existsSync('/bin/fusermount');
const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'cafs-cli-unmount-'));
const children: ChildProcess[] = [];
const mountpoints: string[] = [];

const cli = (...args: string[]) => run(process.execPath, [cafs, ...args], { cwd: work });
/** A shell command run inside `dir` (it cds there itself: a child whose cwd is in the mount would deadlock it). */
const inside = (dir: string, script: string) => run('sh', ['-c', `cd '${dir}' && ${script}`]);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of mountpoints) await run('fusermount', ['-uz', d]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

interface Mounted {
  child: ChildProcess;
  /** Resolves with the exit code and signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** Starts `cafs mount ...` and waits for its "mounted" line. */
function startMount(args: string[], mountpoint: string): Promise<Mounted> {
  mountpoints.push(mountpoint);
  const child = spawn(process.execPath, [cafs, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((ok) => {
    child.on('exit', (code, signal) => ok({ code, signal, output }));
  });
  return new Promise((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('mounted ')) ok({ child, exited });
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((e) => fail(new Error(`cafs mount exited ${e.code} before mounting: ${e.output}`)));
  });
}

/** The process ends within a generous time (not a timing assertion: a hung process fails here instead of at the test's timeout). */
function ended(m: Mounted, ms = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return Promise.race([
    m.exited,
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`cafs mount still running ${ms} ms after the unmount`)), ms).unref()),
  ]);
}

const mountedAt = (dir: string): boolean =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);

describe.skipIf(!canMount)('cafs mount ends when unmounted from outside', () => {
  beforeAll(async () => {
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src/hello.txt'), 'hello\n');
    writeFileSync(join(work, 'photo.bin'), Buffer.alloc(300_000, 7));
    await cli('init');
    await cli('import', join(work, 'src'), '-m', 'import');
  });

  it('fusermount -u: a branch mount commits every write, releases the repository and exits 0', async () => {
    const dir = join(work, 'rw');
    const m = await startMount(['mount', 'main', dir], dir);
    await inside(dir, `cp '${join(work, 'photo.bin')}' photo.bin && printf 'world\\n' >> hello.txt && mkdir -p docs && echo note > docs/n.txt && echo last > last.txt`);
    // While it runs, other commands reach the repository through the mount process; the
    // mounted branch cannot be deleted, and gc waits for the mount to end.
    expect((await cli('log', 'main', '--oneline')).stdout).toMatch(/import/);
    await cli('branch', 'side', 'main');
    expect((await cli('branch')).stdout).toMatch(/side/);
    await expect(cli('branch', '-D', 'main')).rejects.toThrow(/branch main is in use by `cafs mount`/);
    await expect(cli('gc')).rejects.toThrow(/stop the cafs process holding it/);
    await run('fusermount', ['-u', dir]);
    const e = await ended(m);
    expect(e).toMatchObject({ code: 0, signal: null });
    expect(mountedAt(dir)).toBe(false);
    // Released, and the branch holds every write.
    expect((await cli('cat', 'main:/hello.txt')).stdout).toBe('hello\nworld\n');
    expect((await cli('cat', 'main:/docs/n.txt')).stdout).toBe('note\n');
    expect((await cli('cat', 'main:/last.txt')).stdout).toBe('last\n');
    const photo = await run(process.execPath, [cafs, 'cat', 'main:/photo.bin'], { cwd: work, encoding: 'buffer', maxBuffer: 1 << 24 });
    expect(Buffer.compare(photo.stdout, Buffer.alloc(300_000, 7))).toBe(0);
  }, 120_000);

  it.skipIf(!isRoot)('umount: the same, as root', async () => {
    const dir = join(work, 'rw-umount');
    const m = await startMount(['mount', 'main', dir], dir);
    await inside(dir, `echo 'by umount' > umounted.txt && cp umounted.txt copy.txt && rm last.txt`);
    await run('umount', [dir]);
    const e = await ended(m);
    expect(e).toMatchObject({ code: 0, signal: null });
    expect((await cli('cat', 'main:/umounted.txt')).stdout).toBe('by umount\n');
    expect((await cli('cat', 'main:/copy.txt')).stdout).toBe('by umount\n');
    await expect(cli('cat', 'main:/last.txt')).rejects.toThrow(/ENOENT|no such|not found/i);
  }, 120_000);

  it('fusermount -u: a read-only mount exits 0 and releases the repository', async () => {
    const dir = join(work, 'ro');
    const before = (await cli('log', '--oneline')).stdout;
    const m = await startMount(['mount', '--ro', 'main', dir], dir);
    const seen = await inside(dir, `cat hello.txt && (echo x > new.txt 2>/dev/null && echo wrote || echo refused)`);
    expect(seen.stdout).toBe('hello\nworld\nrefused\n');
    await run('fusermount', ['-u', dir]);
    const e = await ended(m);
    expect(e).toMatchObject({ code: 0, signal: null });
    // Not locked any more, and nothing was committed.
    expect((await cli('log', '--oneline')).stdout).toBe(before);
    await cli('branch', 'after-ro');
  }, 120_000);

  it('fusermount -u: a --memory mount exits 0', async () => {
    const dir = join(work, 'ram');
    const m = await startMount(['--memory', 'mount', 'main', dir, '--import', join(work, 'src')], dir);
    const seen = await inside(dir, `cp '${join(work, 'photo.bin')}' p.bin && echo ram > ram.txt && cat hello.txt ram.txt && wc -c < p.bin`);
    expect(seen.stdout.replace(/ /g, '')).toBe('hello\nram\n300000\n');
    await run('fusermount', ['-u', dir]);
    const e = await ended(m);
    expect(e).toMatchObject({ code: 0, signal: null });
    expect(mountedAt(dir)).toBe(false);
  }, 120_000);
});
