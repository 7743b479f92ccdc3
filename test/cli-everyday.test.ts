// Everyday git habits (issue 26): cafs on PATH, short ids, no empty commits, the last branch kept.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cafs, run } from './run-cafs.js';

let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-everyday-'));
  mkdirSync(join(work, 'site'));
  writeFileSync(join(work, 'site', 'a.txt'), 'a');
  expect((await cafs(work, 'init')).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('everyday use', () => {
  it('installs cafs on PATH with one command', async () => {
    const prefix = join(work, 'prefix');
    const r = await run('node', [join(ROOT, 'packages/cli/install.mjs')], { env: { ...process.env, PREFIX: prefix } });
    expect(r.stdout).toContain(join(prefix, 'bin', 'cafs'));
    // Run as a user would: by name, from PATH.
    const v = await run('cafs', ['--version'], { env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH']}` } });
    expect(v.stdout.trim()).toBe('0.1.0');
  });

  it('takes the short ids it prints', async () => {
    const imp = await cafs(work, 'import', 'site', '-m', 'first');
    const id = /^main ([0-9a-f]{12}):/.exec(imp.stdout)![1]!;
    expect((await cafs(work, 'ls', id)).stdout).toBe('a.txt\n');
    expect((await cafs(work, 'cat', `${id.slice(0, 7)}:/a.txt`)).stdout).toBe('a');
    const root = /root ([0-9a-f]{64})/.exec(imp.stdout)![1]!;
    expect((await cafs(work, 'ls', root.slice(0, 10))).stdout).toBe('a.txt\n');
    const none = await cafs(work, 'ls', 'ffff0000');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/unknown ref/);
  });

  it('makes no commit for an unchanged import unless --allow-empty', async () => {
    const count = async (): Promise<number> => (await cafs(work, 'log', '--oneline')).stdout.trim().split('\n').length;
    const before = await count();
    const same = await cafs(work, 'import', 'site');
    expect(same.stdout).toMatch(/no changes/);
    expect(await count()).toBe(before);
    await cafs(work, 'import', 'site', '--allow-empty', '-m', 'again');
    expect(await count()).toBe(before + 1);
  });

  it('refuses to delete the only branch unless -D, and says how to restore it', async () => {
    const refused = await cafs(work, 'branch', '-d', 'main');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/only branch/);
    expect((await cafs(work, 'log', '--oneline')).code).toBe(0);
    const forced = await cafs(work, 'branch', '-D', 'main');
    const restore = /`(cafs branch main [0-9a-f]{64})`/.exec(forced.stdout)![1]!;
    const [, ...args] = restore.split(' ');
    expect((await cafs(work, ...args)).code).toBe(0);
    expect((await cafs(work, 'log', '--oneline')).stdout).toMatch(/again/);
  });

  it('lists recent heads with cafs reflog; a deleted branch survives gc and comes back as topic@{0}', async () => {
    expect((await cafs(work, 'branch', 'topic')).code).toBe(0);
    writeFileSync(join(work, 'site', 'b.txt'), 'b');
    const imp = await cafs(work, 'import', 'site', '--branch', 'topic', '-m', 'topic work');
    const head = /^topic ([0-9a-f]{12}):/.exec(imp.stdout)![1]!;
    expect((await cafs(work, 'branch', '-d', 'topic')).stdout).toMatch(/cafs reflog/);
    const gc = await cafs(work, 'gc');
    expect(gc.code).toBe(0);
    const log = await cafs(work, 'reflog');
    const lines = log.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${head} topic@\\{0\\} +\\S+ deleted: topic work$`));
    expect(lines[1]).toMatch(new RegExp(`^${head} topic@\\{1\\} +\\S+ moved: topic work$`));
    expect(lines.some((l) => / main@\{0\} /.test(l))).toBe(true);
    const json = JSON.parse((await cafs(work, 'reflog', 'topic', '--json', '-n', '1')).stdout) as { ref: string; kind: string; commit: string }[];
    expect(json).toEqual([expect.objectContaining({ ref: 'topic@{0}', kind: 'delete' })]);
    expect(json[0]!.commit.startsWith(head)).toBe(true);
    expect((await cafs(work, 'branch', 'topic', 'topic@{0}')).code).toBe(0);
    expect((await cafs(work, 'cat', 'topic:/b.txt')).stdout).toBe('b');
    // Expired by hand, a deleted branch's commits go.
    expect((await cafs(work, 'branch', '-d', 'topic')).code).toBe(0);
    const freed = await cafs(work, 'gc', '--reflog-expire', 'now');
    expect(freed.stdout).toMatch(/reflog entries expired/);
    expect((await cafs(work, 'cat', `${head}:/b.txt`)).code).toBe(1);
    expect((await cafs(work, 'reflog', 'topic')).stdout).toMatch(/no moves of topic/);
    expect((await cafs(work, 'gc', '--reflog-expire', 'soon')).stderr).toMatch(/--reflog-expire takes an age/);
  });
});
