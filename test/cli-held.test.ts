// A repository held by `cafs serve` stays usable: other commands go through the holder's
// socket (import, log, branch, cat), and the server sees their commits at once.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
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

/** Starts `cafs serve ARGS --port 0` on the repository; resolves with the process and its base URL. */
async function startServe(...args: string[]): Promise<{ server: ChildProcess; base: string }> {
  const server: ChildProcess = spawn(process.execPath, [BIN, 'serve', ...args, '--port', '0', '--repo', repoDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const base = await new Promise<string>((res, rej) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) res(m[1]!);
    });
    server.once('exit', (c) => rej(new Error(`serve exited ${c}`)));
  });
  return { server, base };
}

describe('a repository in use by cafs serve', () => {
  it('takes imports, branches and reads from other commands meanwhile', async () => {
    const { server, base } = await startServe();
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
    } finally {
      server.kill('SIGTERM');
    }
    expect(await new Promise((r) => server.once('exit', r))).toBe(0);
    // Released: the repository opens directly again, with everything the other commands did.
    expect(await ok('branch', '--repo', repoDir)).toMatch(/preview/);
  });

  it('refuses to delete a branch it serves by name, even with -D; other branches go', async () => {
    await ok('branch', 'scratch', 'main', '--repo', repoDir);
    const { server } = await startServe('main');
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
