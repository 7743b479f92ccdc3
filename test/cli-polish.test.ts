// What a git user misses (issue 26): owners in `ls -l`, progress bars, gc giving disk space back.
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdFile } from '../packages/cli/src/owners.js';
import { wantsBar } from '../packages/cli/src/progress.js';
import { BIN, ROOT, cafs, run } from './run-cafs.js';

/** Runs cafs on a pseudo-terminal (util-linux `script`): what the terminal showed, stdout and stderr together. */
async function onTerminal(cwd: string, ...args: string[]): Promise<string> {
  const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const { stdout } = await run('script', ['-qec', [process.execPath, BIN, ...args].map(q).join(' '), '/dev/null'], { cwd, maxBuffer: 64 << 20 });
  return stdout;
}
async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await cafs(cwd, ...args);
  if (r.code !== 0) throw new Error(`cafs ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-polish-'));
  mkdirSync(join(work, 'site', 'sub'), { recursive: true });
  writeFileSync(join(work, 'site', 'a.txt'), 'a');
  writeFileSync(join(work, 'site', 'stranger.txt'), 'b');
  writeFileSync(join(work, 'site', 'sub', 'c.txt'), 'c');
  // Tests run as root: the import keeps this owner, which no passwd or group line names.
  chownSync(join(work, 'site', 'stranger.txt'), 54321, 54321);
  await ok(work, 'init');
  await ok(work, 'import', 'site', '-m', 'first');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ls -l owners', () => {
  it('parses passwd and group lines, first id wins', () => {
    const t = parseIdFile('root:x:0:0:root:/root:/bin/bash\n# comment\n\ntoor:x:0:0::/:/bin/sh\nbin:x:2:\nbroken\n');
    expect([...t]).toEqual([
      [0, 'root'],
      [2, 'bin'],
    ]);
  });

  it('shows owner and group names, numbers when unknown, and numbers with -n', async () => {
    const long = (await ok(work, 'ls', '-l', 'main')).trimEnd().split('\n');
    const line = (name: string, lines: string[]): string => lines.find((l) => l.endsWith(' ' + name))!;
    expect(line('a.txt', long)).toMatch(/^-rw-r--r-- 1 root  root  +1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d a\.txt$/);
    expect(line('sub/', long)).toMatch(/^drwxr-xr-x \d+ root  root  +\d+ .* sub\/$/);
    expect(line('stranger.txt', long)).toMatch(/^-rw-r--r-- 1 54321 54321 +1 .* stranger\.txt$/);
    const numeric = (await ok(work, 'ls', '-n', 'main')).trimEnd().split('\n');
    expect(line('a.txt', numeric)).toMatch(/^-rw-r--r-- 1 0     0     +1 .* a\.txt$/);
    expect(line('stranger.txt', numeric)).toMatch(/^-rw-r--r-- 1 54321 54321 +1 .* stranger\.txt$/);
    expect(await ok(work, 'ls', '--numeric-uid-gid', 'main:/sub')).toMatch(/^-rw-r--r-- 1 0 0 +1 .* c\.txt\n$/);
    // Without -l or -n, names only.
    expect(await ok(work, 'ls', 'main')).toBe('a.txt\nstranger.txt\nsub/\n');
  });
});

describe('progress bars', () => {
  it('are wanted on a terminal only, and never with --json', () => {
    expect(wantsBar({ isTTY: true }, undefined)).toBe(true);
    expect(wantsBar({ isTTY: true }, false)).toBe(true);
    expect(wantsBar({ isTTY: true }, true)).toBe(false);
    expect(wantsBar({ isTTY: false }, undefined)).toBe(false);
    expect(wantsBar({}, undefined)).toBe(false);
  });

  it('cafs export draws one on a terminal, none on a pipe or with --json', async () => {
    // main holds a.txt, stranger.txt, sub/, sub/c.txt and the root: 5 entries.
    const shown = await onTerminal(work, 'export', 'main', 'out-tty');
    expect(shown).toContain('exporting [');
    expect(shown).toContain('5/5 entries');
    expect(shown).toMatch(/exported 3 files, 2 directories, 0 symlinks to out-tty \(5 written\)/);
    const piped = await cafs(work, 'export', 'main', 'out-pipe');
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe('exported 3 files, 2 directories, 0 symlinks to out-pipe (5 written)\n');
    const asJson = await onTerminal(work, 'export', '--json', 'main', 'out-json');
    expect(asJson).not.toContain('exporting [');
    expect(asJson).toContain('"written": 5');
  });

  it('gc and fsck draw theirs on a terminal, none on a pipe', async () => {
    expect(await onTerminal(work, 'fsck')).toMatch(/checking \[.*\] \d+\/\d+ commits, \d+ blobs/);
    expect(await onTerminal(work, 'gc', '--full')).toMatch(/gc (mark|sweep) \[/);
    const fsck = await cafs(work, 'fsck');
    expect(fsck.stdout).toMatch(/: ok\n$/);
    expect(fsck.stderr).toBe('');
    expect((await cafs(work, 'gc', '--full')).stderr).toBe('');
  });
});

/** The total size of the files under `dir`. */
function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? treeBytes(join(dir, e.name)) : lstatSync(join(dir, e.name)).size;
  return n;
}

describe('gc compaction', () => {
  it('gives the disk space of collected blobs back (LevelDB compaction)', async () => {
    const repo = join(work, 'gc-repo');
    mkdirSync(join(repo, 'big'), { recursive: true });
    mkdirSync(join(repo, 'empty'));
    // Random bytes: nothing to deduplicate or compress, 20 MB that must go.
    for (let i = 0; i < 4; i++) writeFileSync(join(repo, 'big', `r${i}.bin`), randomBytes(5_000_000));
    await ok(repo, 'init');
    await ok(repo, 'import', 'big', '-m', 'big');
    const before = treeBytes(join(repo, '.cafs'));
    expect(before).toBeGreaterThan(20_000_000);
    // A new commit without the data, and only that commit kept: the 20 MB are unreachable.
    await ok(repo, 'import', 'empty', '-m', 'empty');
    const r = JSON.parse(await ok(repo, 'gc', '--full', '--keep-last', '1', '--json')) as { blobsDeleted: number; bytesDeleted: number; diskBytesBefore: number; diskBytesAfter: number };
    expect(r.bytesDeleted).toBeGreaterThanOrEqual(20_000_000);
    const after = treeBytes(join(repo, '.cafs'));
    expect(after).toBeLessThan(before / 2);
    expect(r.diskBytesBefore).toBeGreaterThan(20_000_000);
    expect(r.diskBytesAfter).toBeLessThan(r.diskBytesBefore / 2);
    // The repository still reads afterwards, and a gc with nothing to delete does not compact.
    // fsck knows where --keep-last 1 cut history: the dropped parent is not damage.
    expect(await ok(repo, 'fsck')).toMatch(/^1 commits \(history ends at 1 link cut by gc\), .*: ok\n$/);
    expect(await ok(repo, 'log', '--oneline', '-n', '1')).toMatch(/empty/);
    expect(await ok(repo, 'ls', 'main')).toBe('');
    expect(await ok(repo, 'gc', '--full')).toMatch(/^deleted 0 blobs .*\n$/);
  });

  it('reports the directory size before and after in its text output', async () => {
    const repo = join(work, 'gc-text');
    mkdirSync(join(repo, 'big'), { recursive: true });
    mkdirSync(join(repo, 'empty'));
    writeFileSync(join(repo, 'big', 'r.bin'), randomBytes(4_000_000));
    await ok(repo, 'init');
    await ok(repo, 'import', 'big');
    await ok(repo, 'import', 'empty');
    const text = await ok(repo, 'gc', '--full', '--keep-last', '1');
    const m = /compacted .*\.cafs: ([\d.]+) MiB -> ([\d.]+) MiB on disk/.exec(text);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(3.5);
    expect(Number(m![2])).toBeLessThan(Number(m![1]) / 2);
  });
});
