// The built CLI moving roots between repositories: clone, fetch, pull and push over a real
// `cafs serve --allow-push` and between two paths; kill -9 mid-clone and a rerun.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startServe } from './run-cafs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);
const TOKEN = 'a-long-enough-token';

async function cafs(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
async function ok(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cafs(cwd, args, env);
  if (r.code !== 0) throw new Error(`cafs ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** path -> content, for comparing exported trees byte for byte. */
function tree(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel + '/' + e.name;
    if (e.isDirectory()) tree(dir, r, out);
    else out.set(r, readFileSync(join(dir, r)).toString('base64'));
  }
  return out;
}


let work: string;
let src: string;
let server: ChildProcess;
let url: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-cli-sync-'));
  src = join(work, 'src');
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 50; f++) writeFileSync(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(300 + f));
  }
  await ok(work, ['init', '--repo', join(work, 'a')]);
  await ok(work, ['import', src, '--repo', join(work, 'a'), '-m', 'first']);
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  ({ child: server, url } = await startServe(join(work, 'a'), '--allow-push', '--token-file', join(work, 'token')));
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('cafs clone, fetch, pull, push', () => {
  it('clones over HTTP byte for byte, then pulls a 10-file change with blobs in proportion', async () => {
    const clone = JSON.parse(await ok(work, ['clone', url, join(work, 'b'), '--json'])) as { blobs: number; requests: number };
    expect(clone.blobs).toBeGreaterThan(1000);
    await ok(work, ['export', 'main', join(work, 'out-b'), '--repo', join(work, 'b')]);
    expect(tree(join(work, 'out-b'))).toEqual(tree(src));
    expect(await ok(work, ['remote', '-v', '--repo', join(work, 'b')])).toBe(`origin\t${url}\n`);

    // 10 files change on the server (a second import; the server holds the repository, so
    // the import goes in through a push from a third clone).
    await ok(work, ['clone', url, join(work, 'c')]);
    for (let i = 0; i < 10; i++) writeFileSync(join(src, `d${i}`, `f${i}.txt`), `changed ${i}\n`);
    await ok(work, ['import', src, '--repo', join(work, 'c'), '-m', 'ten files']);
    const denied = await cafs(work, ['push', '--repo', join(work, 'c')]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/token/);
    const wrong = await cafs(work, ['push', '--repo', join(work, 'c')], { CAFS_TOKEN: 'not-the-token' });
    expect(wrong.stderr).toMatch(/wrong token/);
    const pushed = JSON.parse(await ok(work, ['push', '--repo', join(work, 'c'), '--json'], { CAFS_TOKEN: TOKEN })) as { blobs: number; upToDate: boolean };
    expect(pushed.upToDate).toBe(false);
    expect(pushed.blobs).toBeLessThan(60);

    const pull = JSON.parse(await ok(work, ['pull', '--repo', join(work, 'b'), '--json'])) as { how: string; blobs: number; requests: number };
    expect(pull.how).toBe('fast-forward');
    expect(pull.blobs).toBeLessThan(60);
    expect(pull.blobs).toBeLessThan(clone.blobs / 20);
    expect(pull.requests).toBeLessThanOrEqual(4);
    rmSync(join(work, 'out-b'), { recursive: true });
    await ok(work, ['export', 'main', join(work, 'out-b'), '--repo', join(work, 'b')]);
    expect(tree(join(work, 'out-b'))).toEqual(tree(src));
    expect(await ok(work, ['log', 'origin/main', '--repo', join(work, 'b')])).toMatch(/ten files/);
  });

  it('refuses a non-fast-forward push unless forced, and clones from a path', async () => {
    await ok(work, ['clone', url, join(work, 'd')]);
    writeFileSync(join(work, 'extra.txt'), 'extra');
    const other = join(work, 'other-src');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'only.txt'), 'a different history');
    await ok(work, ['init', '--repo', join(work, 'e')]);
    await ok(work, ['import', other, '--repo', join(work, 'e'), '-m', 'unrelated']);
    await ok(work, ['remote', 'add', 'origin', url, '--repo', join(work, 'e')]);
    const refused = await cafs(work, ['push', '--repo', join(work, 'e')], { CAFS_TOKEN: TOKEN });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/pull first|fast-forward/);

    // A path remote: clone d (on disk, not in use) into f.
    const f = JSON.parse(await ok(work, ['clone', join(work, 'd'), join(work, 'f'), '--json'])) as { branches: Record<string, string> };
    const dHead = (await ok(work, ['log', 'main', '--repo', join(work, 'd')])).split(/\s/)[1]!;
    expect(f.branches['main']!.startsWith(dHead.slice(0, 12))).toBe(true);
  });

  it('resumes a clone killed with SIGKILL: a fetch completes it, sending only what is missing', async () => {
    const dir = join(work, 'g');
    const child = spawn(process.execPath, [BIN, 'clone', url, dir], { stdio: 'ignore' });
    // Kill as soon as blobs have started arriving.
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 5));
      try {
        if (readdirSync(join(dir, '.cafs')).some((n) => n.endsWith('.log') && statSync(join(dir, '.cafs', n)).size > 200_000)) break;
      } catch {}
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const fetched = JSON.parse(await ok(work, ['fetch', '--repo', dir, '--json'])) as { blobs: number };
    expect(fetched.blobs).toBeGreaterThanOrEqual(0);
    const branches = await ok(work, ['branch', '--repo', dir]);
    if (!branches.includes('main')) await ok(work, ['branch', 'main', 'origin/main', '--repo', dir]);
    await ok(work, ['export', 'main', join(work, 'out-g'), '--repo', dir]);
    expect(tree(join(work, 'out-g'))).toEqual(tree(src));
    const fsck = await cafs(work, ['fsck', '--repo', dir]);
    expect(fsck.code).toBe(0);
  });
});
