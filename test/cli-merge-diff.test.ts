// Merging and diffing by line (issue 26): `cafs diff` prints a unified patch, `cafs merge`
// merges text files by line and settles true conflicts with --markers, --theirs or --ours.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cafs } from './run-cafs.js';

async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await cafs(cwd, ...args);
  expect(r.stderr.includes('Error') ? r.stderr : '').toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const lines = (n: number, edit: (i: number) => string | undefined = () => undefined): string =>
  Array.from({ length: n }, (_, i) => edit(i + 1) ?? `line ${i + 1}`).join('\n') + '\n';

let work: string;
const tree = (name: string, files: Record<string, string | Uint8Array>): string => {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [p, data] of Object.entries(files)) writeFileSync(join(dir, p), data);
  return dir;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-merge-diff-'));
  await ok(work, 'init');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cafs diff', () => {
  it('prints a unified patch of text files, and says when binary files differ', async () => {
    await ok(work, 'import', tree('v1', { 'a.txt': lines(20), 'b.bin': new Uint8Array([0, 1, 2]), 'gone.txt': 'bye\n' }), '-b', 'd');
    await ok(work, 'import', tree('v2', { 'a.txt': lines(21, (i) => (i === 10 ? 'line ten' : undefined)), 'b.bin': new Uint8Array([0, 1, 3]), 'new.txt': 'hello\n' }), '-b', 'd');
    const patch = await ok(work, 'diff', 'd~1', 'd');
    expect(patch).toContain('diff --cafs a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+line ten\n line 11\n');
    expect(patch).toContain('@@ -18,3 +18,4 @@\n line 18\n line 19\n line 20\n+line 21\n');
    expect(patch).toContain('Binary files a/b.bin and b/b.bin differ');
    expect(patch).toContain('deleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-bye\n');
    expect(patch).toContain('new file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,1 @@\n+hello\n');
    expect(await ok(work, 'diff', 'd~1', 'd', '--ranges')).toMatch(/^M \/b\.bin bytes \d+-3$/m);
    expect(await ok(work, 'diff', 'd', 'd')).toBe('');
  });
});

describe('cafs merge', () => {
  const setup = async (branch: string): Promise<void> => {
    await ok(work, 'import', tree(`${branch}-base`, { 'f.txt': lines(10) }), '-b', branch);
    await ok(work, 'branch', `${branch}-topic`, branch);
    await ok(work, 'import', tree(`${branch}-ours`, { 'f.txt': lines(10, (i) => (i === 2 ? 'ours 2' : i === 5 ? 'ours 5' : undefined)) }), '-b', branch);
    await ok(work, 'import', tree(`${branch}-theirs`, { 'f.txt': lines(10, (i) => (i === 5 ? 'theirs 5' : i === 9 ? 'theirs 9' : undefined)) }), '-b', `${branch}-topic`);
  };

  it('refuses a true conflict by default and commits nothing', async () => {
    await setup('m0');
    const head = await ok(work, 'log', 'm0', '--oneline');
    const r = await cafs(work, 'merge', 'm0-topic', '-b', 'm0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CONFLICT \(\w+\): \/f\.txt/);
    expect(r.stderr).toMatch(/--markers/);
    expect(await ok(work, 'log', 'm0', '--oneline')).toBe(head);
  });

  it('--markers merges the clean lines and marks the conflicting ones', async () => {
    await setup('m1');
    await ok(work, 'merge', 'm1-topic', '-b', 'm1', '--markers');
    const merged = await ok(work, 'cat', 'm1:/f.txt');
    expect(merged).toContain('ours 2\n');
    expect(merged).toContain('theirs 9\n');
    expect(merged).toContain('<<<<<<< m1\nours 5\n=======\ntheirs 5\n>>>>>>> m1-topic\n');
  });

  it('--theirs and --ours take one side of each conflict, the rest still merged by line', async () => {
    await setup('m2');
    await ok(work, 'merge', 'm2-topic', '-b', 'm2', '--theirs');
    const theirs = await ok(work, 'cat', 'm2:/f.txt');
    expect(theirs).toContain('theirs 5\n');
    expect(theirs).not.toContain('ours 5');
    await setup('m3');
    await ok(work, 'merge', 'm3-topic', '-b', 'm3', '--ours');
    const ours = await ok(work, 'cat', 'm3:/f.txt');
    expect(ours).toContain('ours 5\n');
    expect(ours).not.toContain('theirs 5');
    const both = await cafs(work, 'merge', 'm3-topic', '-b', 'm3', '--ours', '--theirs');
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/exclude each other/);
  });

  it('merges edits to different lines of one file without a conflict', async () => {
    await ok(work, 'import', tree('m4-base', { 'f.txt': lines(10) }), '-b', 'm4');
    await ok(work, 'branch', 'm4-topic', 'm4');
    await ok(work, 'import', tree('m4-ours', { 'f.txt': lines(10, (i) => (i === 1 ? 'first' : undefined)) }), '-b', 'm4');
    await ok(work, 'import', tree('m4-theirs', { 'f.txt': lines(10, (i) => (i === 10 ? 'last' : undefined)) }), '-b', 'm4-topic');
    const r = await cafs(work, 'merge', 'm4-topic', '-b', 'm4');
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('CONFLICT');
    expect(await ok(work, 'cat', 'm4:/f.txt')).toBe(lines(10, (i) => (i === 1 ? 'first' : i === 10 ? 'last' : undefined)));
  });
});
