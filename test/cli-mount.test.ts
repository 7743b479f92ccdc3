// `cafs mount` as a user runs it: mount a branch, write through it with real tools, stop with
// SIGTERM, see the commits on the branch; a read-only mount of an old ref keeps old content.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startMount as startCafsMount, stopProcess } from './run-cafs.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cafs = join(root, 'packages/cli/dist/main.js');
const canMount = existsSync('/dev/fuse') && existsSync('/bin/fusermount');
const work = mkdtempSync(join(tmpdir(), 'cafs-cli-mount-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const d of ['rw', 'ro', 'few', 'each']) await run('fusermount', ['-uz', join(work, d)]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** Starts `cafs mount ...` and waits for its "mounted" line. */
const startMount = async (args: string[]): Promise<ChildProcess> => {
  const child = await startCafsMount(work, args);
  children.push(child);
  return child;
};
const stop = stopProcess;

describe.skipIf(!canMount)('cafs mount', () => {
  it('a branch mount turns writes into commits; a read-only mount of an old ref stays put', async () => {
    const cli = (...args: string[]) => run(process.execPath, [cafs, ...args], { cwd: work });
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src/hello.txt'), 'hello\n');
    await cli('init');
    await cli('import', join(work, 'src'), '-m', 'import');

    const rw = await startMount(['mount', 'main', join(work, 'rw')]);
    // Shell commands cd inside the mount themselves: a child started with its cwd in the mount
    // would deadlock the FUSE server, which runs on the mounting process's thread.
    await run('sh', ['-c', `cd ${join(work, 'rw')} && printf 'world\\n' >> hello.txt && mkdir -p docs && echo note > docs/n.txt && cat hello.txt`]);
    await stop(rw);
    expect((await cli('cat', 'main:/hello.txt')).stdout).toBe('hello\nworld\n');
    expect((await cli('cat', 'main:/docs/n.txt')).stdout).toBe('note\n');
    const log = (await cli('log', '--oneline')).stdout.trim().split('\n');
    expect(log.length).toBeGreaterThan(2);

    const ro = await startMount(['mount', 'main~' + String(log.length - 2), join(work, 'ro')]);
    const seen = await run('sh', ['-c', `cd ${join(work, 'ro')} && cat hello.txt && (echo x > new.txt 2>/dev/null && echo wrote || echo refused)`]);
    await stop(ro);
    expect(seen.stdout).toBe('hello\nrefused\n');
  }, 120_000);

  it('commits when asked (cafs commit --mount) and at unmount, not once per operation; --commit-each-change does', async () => {
    const cli = (...args: string[]) => run(process.execPath, [cafs, ...args], { cwd: work });
    const kv = join(root, 'packages/kv/src');
    await cli('branch', 'few', 'main');
    const dir = join(work, 'few');
    const before = (await cli('log', 'few', '--oneline')).stdout.trim().split('\n').length;
    const m = await startMount(['mount', 'few', dir, '--commit-every', '600']);
    await run('sh', ['-c', `cp -a '${kv}' '${dir}/kv' && chmod -R go-w '${dir}/kv'`]);
    const asked = await cli('commit', '--mount', dir, '-m', 'copy kv');
    expect(asked.stdout).toMatch(/^head [0-9a-f]{12}\n$/);
    await run('sh', ['-c', `cd '${dir}' && echo x > x.txt && rm -r kv/tree`]);
    await stop(m);
    const log = (await cli('log', 'few', '--oneline')).stdout.trim().split('\n');
    expect(log).toHaveLength(before + 2);
    expect(log[1]).toMatch(/copy kv$/);
    expect(log[0]).toMatch(/changes: write \/x\.txt/);
    expect((await cli('cat', 'few:/kv/index.ts')).stdout).toBe(readFileSync(join(kv, 'index.ts'), 'utf8'));
    // No mount there any more: a clear error.
    const gone = await cli('commit', '--mount', dir).catch((e: { code: number; stderr: string }) => e);
    expect((gone as { code: number }).code).toBe(1);
    expect((gone as { stderr: string }).stderr).toMatch(/no cafs branch mount at/);

    await cli('branch', 'each', 'main');
    const dir2 = join(work, 'each');
    const e = await startMount(['mount', 'each', dir2, '--commit-each-change']);
    await run('sh', ['-c', `cd '${dir2}' && echo a > a && echo b > b && chmod 600 a`]);
    await stop(e);
    const log2 = (await cli('log', 'each', '--oneline')).stdout.trim().split('\n');
    expect(log2.length).toBeGreaterThanOrEqual(before + 3);
    expect(log2[0]).toMatch(/chmod \/a$/);
  }, 120_000);
});
