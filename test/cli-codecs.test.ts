// Compressed and encrypted repositories on disk through the built `cafs` (issue 22): gc's
// compaction beneath the codec, local remotes with codecs (clone, fetch, push), and
// `cafs --memory serve --compress`. Needs no Redis (packages/store-redis/test/cli-codecs.test.ts
// has the cluster's side).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './run-cafs.js';

const run = promisify(execFile);
type Result = { stdout: string; stderr: string; code: number };

/** `cafs ARGS` in `cwd` with only the secrets in `env` (none from the environment running the tests). */
const cli = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<Result> =>
  run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 64 << 20, env: { ...process.env, CAFS_KEY: '', CAFS_KEY_FILE: '', ...env } }).then(
    (r) => ({ ...r, code: 0 }),
    (e: Result) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 }),
  );

async function ok(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cli(cwd, args, env);
  if (r.code !== 0) throw new Error(`cafs ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

interface Stats {
  codec: string;
  blobs: number;
  compressedBlobs: number;
  logicalBytes: number;
  storedBytes: number;
  ratio: number;
}

const SECRET = 'a secret for the codec tests, not for real data';
const KEY = { CAFS_KEY: SECRET };

let work: string;
/** Text that compresses well (a few MB), kept across the tests. */
let text: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cafs-codecs-'));
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(`line ${i}: the ${['quick', 'lazy', 'brown', 'red'][i % 4]} fox ${i % 7 === 0 ? 'jumps' : 'sleeps'} over ${i * 31 % 1000}`);
  text = lines.join('\n') + '\n';
  mkdirSync(join(work, 'tree/sub'), { recursive: true });
  mkdirSync(join(work, 'big'));
  writeFileSync(join(work, 'tree/keep.txt'), text);
  writeFileSync(join(work, 'tree/sub/small.txt'), 'small');
  for (let i = 0; i < 4; i++) writeFileSync(join(work, 'big', `r${i}.bin`), randomBytes(5_000_000));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('gc compaction under a codec', () => {
  for (const v of [
    { name: 'compressed', init: ['--compress'], env: {} as Record<string, string>, codec: 'zstd:3' },
    { name: 'encrypted and compressed', init: ['--compress', 'zstd:5', '--encrypt'], env: KEY, codec: 'zstd:5+sealed' },
    { name: 'encrypted', init: ['--encrypt'], env: KEY, codec: 'sealed' },
  ]) {
    it(`gives the disk space of deleted blobs back in a ${v.name} repository, which still reads`, async () => {
      const repo = join(work, `gc-${v.name.replace(/ /g, '-')}`);
      mkdirSync(repo);
      await ok(repo, ['init', ...v.init], v.env);
      await ok(repo, ['import', join(work, 'big'), '-m', 'big'], v.env);
      await ok(repo, ['import', join(work, 'tree'), '-m', 'tree'], v.env);
      const kept = JSON.parse(await ok(repo, ['stats', '--json'], v.env)) as Stats;
      expect(kept.codec).toBe(v.codec);
      const r = JSON.parse(await ok(repo, ['gc', '--full', '--keep-last', '1', '--json'], v.env)) as { blobsDeleted: number; diskBytesBefore?: number; diskBytesAfter?: number };
      expect(r.blobsDeleted).toBeGreaterThan(0);
      // Compacted: before the fix a coded store was not recognised as LevelDB and kept its 20 MB.
      expect(r.diskBytesBefore).toBeGreaterThan(20_000_000);
      expect(r.diskBytesAfter).toBeLessThan(r.diskBytesBefore! / 4);
      const after = JSON.parse(await ok(repo, ['stats', '--json'], v.env)) as Stats;
      expect(after.codec).toBe(v.codec);
      expect(after.logicalBytes).toBeLessThan(kept.logicalBytes - 19_000_000);
      if (v.codec !== 'sealed') {
        expect(after.compressedBlobs).toBeGreaterThan(0);
        expect(after.ratio).toBeGreaterThan(3);
      }
      // Read back whole and checked.
      expect(await ok(repo, ['cat', 'main:/keep.txt'], v.env)).toBe(text);
      expect(await ok(repo, ['cat', 'main:/sub/small.txt'], v.env)).toBe('small');
      expect(await ok(repo, ['fsck'], v.env)).toMatch(/: ok\n$/);
      await ok(repo, ['export', 'main', join(repo, 'out')], v.env);
      expect(readFileSync(join(repo, 'out/keep.txt'), 'utf8')).toBe(text);
    });
  }
});

describe('local remotes with codecs', () => {
  const rootOf = async (cwd: string, env: Record<string, string> = {}): Promise<string> => (await ok(cwd, ['log', '--oneline', '-n', '1'], env)).split(' ')[0]!;

  it('clone, fetch and push with a compressed and an encrypted remote; clone --compress --encrypt', async () => {
    // The source: encrypted and compressed, the secret in $CAFS_KEY.
    const src = join(work, 'remote-src');
    mkdirSync(src);
    await ok(src, ['init', '--compress', '--encrypt'], KEY);
    await ok(src, ['import', join(work, 'tree'), '-m', 'tree'], KEY);
    // Without the secret: the remote's own error, told as the options, never the secret.
    const bare = await cli(work, ['clone', src, join(work, 'no-key')]);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toMatch(/encrypted: give its secret with --key-file/);
    const wrong = await cli(work, ['clone', src, join(work, 'wrong-key')], { CAFS_KEY: 'another secret of enough bytes' });
    expect(wrong.stderr).toMatch(/wrong secret/);
    expect(wrong.stderr + bare.stderr).not.toContain(SECRET);

    // A plain clone of the encrypted remote (the secret opens the remote only).
    const plain = join(work, 'clone-plain');
    await ok(work, ['clone', src, plain], KEY);
    expect(await ok(plain, ['cat', 'main:/keep.txt'])).toBe(text);
    expect((JSON.parse(await ok(plain, ['stats', '--json'])) as Stats).codec).toBe('raw');
    const first = await rootOf(plain);

    // A clone that is itself compressed and encrypted, through a key file given as --key-file.
    writeFileSync(join(work, 'clone.key'), SECRET + '\n', { mode: 0o600 });
    const sealed = join(work, 'clone-sealed');
    await ok(work, ['--key-file', join(work, 'clone.key'), 'clone', '--compress', 'zstd:9', '--encrypt', src, sealed]);
    expect((JSON.parse(await ok(sealed, ['stats', '--json'], KEY)) as Stats).codec).toBe('zstd:9+sealed');
    expect(await ok(sealed, ['cat', 'main:/keep.txt'], KEY)).toBe(text);
    expect(await rootOf(sealed, KEY)).toBe(first);
    expect((await cli(sealed, ['cat', 'main:/keep.txt'])).stderr).toMatch(/encrypted/);
    expect((await cli(work, ['clone', '--encrypt', src, join(work, 'clone-nokey')])).stderr).toMatch(/--encrypt needs a secret/);

    // Push from the plain clone to the encrypted source, fetch it into the sealed clone.
    writeFileSync(join(work, 'tree/new.txt'), 'pushed through codecs\n'.repeat(100));
    await ok(plain, ['import', join(work, 'tree'), '-m', 'more']);
    const pushed = await rootOf(plain);
    expect(await ok(plain, ['push', 'origin', 'main'], KEY)).toMatch(/origin\/main: .* -> /);
    expect(await ok(src, ['cat', 'main:/new.txt'], KEY)).toBe('pushed through codecs\n'.repeat(100));
    expect(await ok(sealed, ['fetch'], KEY)).toMatch(/origin\/main: /);
    expect(await ok(sealed, ['pull'], KEY)).toMatch(/fast-forward/);
    expect(await rootOf(sealed, KEY)).toBe(pushed);
    expect(await ok(sealed, ['fsck'], KEY)).toMatch(/: ok\n$/);
    expect(await ok(src, ['fsck'], KEY)).toMatch(/: ok\n$/);

    // A compressed remote (no secret anywhere) and a plain repository fetching from it.
    const zsrc = join(work, 'remote-zstd');
    mkdirSync(zsrc);
    await ok(zsrc, ['init', '--compress', 'zstd:1']);
    await ok(zsrc, ['import', join(work, 'tree'), '-m', 'tree']);
    const zclone = join(work, 'clone-of-zstd');
    await ok(work, ['clone', zsrc, zclone, '--compress']); // a bare --compress last, or it takes the next word
    expect((JSON.parse(await ok(zclone, ['stats', '--json'])) as Stats).codec).toBe('zstd:3');
    expect(await ok(zclone, ['cat', 'main:/new.txt'])).toBe('pushed through codecs\n'.repeat(100));
    await ok(plain, ['remote', 'add', 'z', zsrc]);
    expect(await ok(plain, ['fetch', 'z'])).toMatch(/z\/main: /);
    // The same tree, imported into each: the same root.
    expect((await ok(plain, ['log', '--oneline', '-n', '1', 'z/main'])).length).toBeGreaterThan(0);
    rmSync(join(work, 'tree/new.txt'));
  });
});

describe('cafs --memory serve --compress', () => {
  /** Starts `cafs --memory serve --port 0 ARGS`; its URL once it listens, and what it printed. */
  async function serveMemory(...args: string[]): Promise<{ pid: number; url: string; out: string; stop(): Promise<void> }> {
    const child = spawn(process.execPath, [BIN, '--memory', 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) res(m[1]!);
      });
      child.once('exit', (c) => rej(new Error(`serve exited ${c}: ${out}`)));
    });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    return { pid: child.pid!, url, out, stop: async () => void (child.kill('SIGTERM'), await exited) };
  }
  const rssBytes = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  it('keeps an imported tree compressed in RAM: the same root and bytes over HTTP, far less memory', async () => {
    // 96 MiB of text in 24 files: numbered lines (no two chunks alike, so nothing deduplicates)
    // of a few words, which zstd shrinks about sixfold.
    const site = join(work, 'site');
    mkdirSync(site);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
    let n = 0;
    for (let f = 0; f < 24; f++) {
      const lines: string[] = [];
      for (let len = 0; len < 4 << 20; n++) {
        lines.push(`${n} ${words[n % 12]} ${words[(n * 7) % 11]} record ${(n * 7919) % 10007} of the served text\n`);
        len += lines[lines.length - 1]!.length;
      }
      writeFileSync(join(site, `f${f}.txt`), lines.join('').slice(0, 4 << 20));
    }
    const rootOf = (out: string): string => /imported 24 files into memory.*: root ([0-9a-f]{64})/.exec(out)![1]!;

    const plain = await serveMemory('--import', site);
    const plainRss = rssBytes(plain.pid);
    await plain.stop();
    const z = await serveMemory('--import', site, '--compress');
    try {
      expect(z.out).toMatch(/into memory \(zstd:3\)/);
      expect(rootOf(z.out)).toBe(rootOf(plain.out));
      for (const f of ['f0.txt', 'f23.txt']) {
        const res = await fetch(`${z.url}/b/main/${f}`);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(site, f)))).toBe(true);
      }
      const zRss = rssBytes(z.pid);
      // Plain keeps the 96 MiB of blobs, compressed ~17 MiB (measured: ~180 MB and ~125 MB of RSS).
      expect(plainRss - zRss).toBeGreaterThan(32 * 2 ** 20);
    } finally {
      await z.stop();
    }
    const level = await serveMemory('--compress', 'zstd:9', '--import', site);
    expect(level.out).toMatch(/into memory \(zstd:9\)/);
    await level.stop();
    expect((await cli(work, ['serve', '--port', '0', '--compress'])).stderr).toMatch(/--compress is for a RAM-only repository/);
  });
});
