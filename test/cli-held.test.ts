// A repository held by `cafs serve` stays usable: other commands go through the holder's
// socket (import, log, branch, cat), and the server sees their commits at once.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startServe } from './run-cafs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);
const ok = async (...args: string[]): Promise<string> => (await run(process.execPath, [BIN, ...args])).stdout;

let work: string;
let repoDir: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-held-'));
  repoDir = join(work, 'repo');
  await ok('init', '--repo', repoDir);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `cafs serve ARGS` on the repository: the process and its base URL. */
async function startServeOn(...args: string[]): Promise<{ server: ChildProcess; base: string }> {
  const { child, url } = await startServe(repoDir, ...args);
  return { server: child, base: url };
}

describe('a repository in use by cafs serve', () => {
  it('takes imports, branches and reads from other commands meanwhile', async () => {
    const { server, base } = await startServeOn();
    try {
      expect(existsSync(join(repoDir, '.cafs', 'cafs.sock')) || existsSync(join(repoDir, 'cafs.sock'))).toBe(true);
      const site = join(work, 'site');
      mkdirSync(site);
      writeFileSync(join(site, 'index.html'), '<p>while serving</p>');
      await ok('import', site, '--repo', repoDir, '-m', 'published while serving');
      expect(await ok('log', 'main', '--repo', repoDir)).toMatch(/published while serving/);
      await ok('branch', 'preview', 'main', '--repo', repoDir);
      expect(await ok('cat', 'preview:/index.html', '--repo', repoDir)).toBe('<p>while serving</p>');
      // The server sees the new commit at once.
      expect(await (await fetch(`${base}/b/main/index.html`)).text()).toBe('<p>while serving</p>');
      const gc = await run(process.execPath, [BIN, 'gc', '--repo', repoDir]).catch((e: { stderr: string }) => e);
      expect((gc as { stderr: string }).stderr).toMatch(/stop the cafs process holding it/);
      // Refused before anything changed: the reflog (which a gc expires) is all there.
      expect(await ok('reflog', '--repo', repoDir)).toMatch(/preview@\{0\} .* created: published while serving/);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await new Promise((r) => server.once('exit', r))).toBe(0);
    // Released: the repository opens directly again, with everything the other commands did.
    expect(await ok('branch', '--repo', repoDir)).toMatch(/preview/);
  });

  it('refuses to delete a branch it serves by name, even with -D; other branches go', async () => {
    await ok('branch', 'scratch', 'main', '--repo', repoDir);
    const { server } = await startServeOn('main');
    try {
      const refused = await run(process.execPath, [BIN, 'branch', '-D', 'main', '--repo', repoDir]).catch((e: { code: number; stderr: string }) => e);
      expect((refused as { code: number }).code).toBe(1);
      expect((refused as { stderr: string }).stderr).toMatch(/branch main is in use by `cafs serve`/);
      await ok('branch', '-d', 'scratch', '--repo', repoDir);
      expect(await ok('branch', '--repo', repoDir)).not.toMatch(/scratch/);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await new Promise((r) => server.once('exit', r))).toBe(0);
    expect(await ok('branch', '--repo', repoDir)).toMatch(/main/);
  });
});
