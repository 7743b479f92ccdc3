// Issue 27: a branch mount collecting garbage as it goes (`--keep-last`), killed with SIGKILL at
// random moments while a shell writes files through it, leaves a repository fsck calls clean,
// with every logged commit readable; a later `cafs gc` keeps it so.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Repo, fsck } from '../packages/repo/dist/index.js';
import { BIN } from './run-cafs.js';
import { readTree } from './read-tree.js';

const run = promisify(execFile);
const canMount = existsSync('/dev/fuse') && existsSync('/bin/fusermount');
const RUNS = 6;
const work = mkdtempSync(join(tmpdir(), 'cafs-mount-gc-crash-'));
const repoDir = join(work, 'repo');
const mnt = join(work, 'mnt');
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await run('fusermount', ['-uz', mnt]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

function startMount(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'mount', 'main', mnt, '--repo', repoDir, '--keep-last', '3', '--commit-each-change', '--gc-every', '8'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('mounted ')) ok(child);
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => fail(new Error(`cafs mount exited ${code} before mounting: ${output}`)));
  });
}

async function checkRepo(): Promise<{ commits: number; cuts: number }> {
  const repo = await Repo.open({ path: repoDir });
  try {
    const report = await fsck(repo);
    expect(report.problems).toEqual([]);
    let commits = 0;
    for await (const e of repo.log('main')) {
      commits++;
      await readTree(repo, e.commit.root, '/');
    }
    return { commits, cuts: report.historyCuts };
  } finally {
    await repo.close();
  }
}

describe.skipIf(!canMount)('a --keep-last mount killed while files are written', () => {
  it(`${RUNS} SIGKILLs of the mount process at random moments: fsck clean, history readable`, async () => {
    mkdirSync(mnt);
    // The repository itself: Repo.open and --repo name the same LevelDB directory.
    const fresh = await Repo.open({ path: repoDir });
    await fresh.init();
    await fresh.close();
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let cuts = 0;
    for (let i = 0; i < RUNS; i++) {
      const mount = await startMount();
      // Writes until the mount dies under it (then every write fails and the loop ends).
      const writer = spawn('sh', ['-c', `i=0; while [ $i -lt 100000 ]; do echo "run ${i} write $i" > '${mnt}'/f$((i % 25)) || exit 0; i=$((i+1)); done`], { stdio: 'ignore' });
      children.push(writer);
      await new Promise((r) => setTimeout(r, 700 + Math.floor(rnd() * 1800)));
      mount.kill('SIGKILL');
      await new Promise((r) => mount.once('exit', r));
      await run('fusermount', ['-uz', mnt]).catch(() => undefined);
      await new Promise((r) => (writer.exitCode !== null || writer.signalCode !== null ? r(undefined) : writer.once('exit', r)));
      const state = await checkRepo();
      expect(state.commits).toBeGreaterThan(0);
      cuts = state.cuts;
    }
    // The mount's collections did cut history (what the crashes could have half-done).
    expect(cuts).toBeGreaterThan(0);
    await run(process.execPath, [BIN, 'gc', '--keep-last', '3', '--repo', repoDir]);
    expect((await checkRepo()).commits).toBe(3);
  }, 300_000);
});
