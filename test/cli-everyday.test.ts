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
});
