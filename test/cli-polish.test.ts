// What a git user misses (issue 26): owners in `ls -l`, progress bars, gc giving disk space back.
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdFile } from '../packages/cli/src/owners.js';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'packages/cli/dist/main.js');
const run = promisify(execFile);
async function cafs(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
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
    expect(line('a.txt', long)).toMatch(/^-rw-r--r-- root  root  +1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d a\.txt$/);
    expect(line('sub/', long)).toMatch(/^drwxr-xr-x root  root  +\d+ .* sub\/$/);
    expect(line('stranger.txt', long)).toMatch(/^-rw-r--r-- 54321 54321 +1 .* stranger\.txt$/);
    const numeric = (await ok(work, 'ls', '-n', 'main')).trimEnd().split('\n');
    expect(line('a.txt', numeric)).toMatch(/^-rw-r--r-- 0     0     +1 .* a\.txt$/);
    expect(line('stranger.txt', numeric)).toMatch(/^-rw-r--r-- 54321 54321 +1 .* stranger\.txt$/);
    expect(await ok(work, 'ls', '--numeric-uid-gid', 'main:/sub')).toMatch(/^-rw-r--r-- 0 0 +1 .* c\.txt\n$/);
    // Without -l or -n, names only.
    expect(await ok(work, 'ls', 'main')).toBe('a.txt\nstranger.txt\nsub/\n');
  });
});
