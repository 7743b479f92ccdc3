// `cafs mount` as a user runs it: mount a branch, write through it with real tools, stop with
// SIGTERM, see the commits on the branch; a read-only mount of an old ref keeps old content.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cafs = join(root, 'packages/cli/dist/main.js');
const canMount = existsSync('/dev/fuse') && existsSync('/bin/fusermount');
const work = mkdtempSync(join(tmpdir(), 'cafs-cli-mount-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const d of ['rw', 'ro']) await run('fusermount', ['-uz', join(work, d)]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

/** Starts `cafs mount ...` and waits for its "mounted" line. */
function startMount(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cafs, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('mounted ')) ok(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => fail(new Error(`cafs mount exited ${code}: ${out}`)));
  });
}

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((ok) => {
    child.once('exit', () => ok());
    child.kill('SIGTERM');
  });

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
});
