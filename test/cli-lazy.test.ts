// Remote roots read lazily: `cafs ls/cat/diff` on URLs, and a FUSE mount of a remote root read
// with real tools, fetching only the blobs the reads touch.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startServe } from './run-cafs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);
const HAVE_FUSE = existsSync('/dev/fuse');
const MiB = 1024 * 1024;

const ok = async (args: string[]): Promise<string> => (await run(process.execPath, [BIN, ...args], { maxBuffer: 256 << 20, encoding: 'latin1' })).stdout;

const content = (seed: number, n: number): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 11;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let work: string;
let src: string;
let server: ChildProcess;
let base: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-lazy-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'big'), { recursive: true });
  mkdirSync(join(src, 'small'), { recursive: true });
  for (let i = 0; i < 24; i++) writeFileSync(join(src, 'big', `f${i}.bin`), content(i, MiB));
  for (let i = 0; i < 200; i++) writeFileSync(join(src, 'small', `s${i}.txt`), `small file ${i}\n`.repeat(20));
  await ok(['init', '--repo', join(work, 'repo')]);
  await ok(['import', src, '--repo', join(work, 'repo'), '-m', 'tree']);
  ({ child: server, url: base } = await startServe(join(work, 'repo')));
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('remote roots, lazily', () => {
  it('ls, cat and stat take URLs', async () => {
    expect((await ok(['ls', `${base}/b/main/small`])).split('\n').filter(Boolean).length).toBe(200);
    expect(sha(Buffer.from(await ok(['cat', `${base}/b/main/big/f3.bin`]), 'latin1'))).toBe(sha(content(3, MiB)));
    const st = JSON.parse(await ok(['stat', `${base}/b/main/big/f3.bin`, '--json'])) as { size: number; root: string };
    expect(st.size).toBe(MiB);
    expect(await ok(['cat', `${base}/r/${st.root}/small/s7.txt`])).toBe(`small file 7\n`.repeat(20));
    expect(await ok(['diff', `${base}/b/main`, `${base}/r/${st.root}`])).toBe('');
  });

  it.skipIf(!HAVE_FUSE)('mounts a remote root read-only and fetches only what reads touch', async () => {
    const st = JSON.parse(await ok(['stat', `${base}/b/main`, '--json'])) as { root: string };
    const mnt = join(work, 'mnt');
    const child = spawn(process.execPath, [BIN, 'mount', `${base}/r/${st.root}`, mnt], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => /mounted/.test(d.toString()) && res());
      child.once('exit', (c) => rej(new Error(`mount exited ${c}: ${stderr}`)));
    });
    try {
      expect((await run('sha256sum', [join(mnt, 'big', 'f5.bin')])).stdout.split(' ')[0]).toBe(sha(content(5, MiB)));
      expect(readFileSync(join(mnt, 'small', 's9.txt'), 'utf8')).toBe(`small file 9\n`.repeat(20));
      const tar = await run('tar', ['cf', '-', '-C', mnt, 'small'], { encoding: 'buffer', maxBuffer: 64 << 20 });
      expect(tar.stdout.length).toBeGreaterThan(200 * 240);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    const m = /fetched (\d+) blobs, (\d+) bytes/.exec(stderr);
    expect(m).not.toBeNull();
    // One 1 MiB file, 200 small ones and the nodes on their paths: not the 24 MiB tree.
    expect(Number(m![2])).toBeGreaterThan(MiB);
    expect(Number(m![2])).toBeLessThan(3 * MiB);
  });
});
