// The `cafs` command with codecs: init --compress / --encrypt on disk and on the cluster, the
// choice remembered by later commands, stats, key errors that never show the secret.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type TestCluster } from '../src/testing/cluster.js';

const run = promisify(execFile);
const cafs = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));

let cluster: TestCluster;
let work: string;

beforeAll(async () => {
  cluster = await startRedisCluster();
  work = mkdtempSync(join(tmpdir(), 'cafs-cli-codecs-'));
  mkdirSync(join(work, 'tree/sub'), { recursive: true });
  writeFileSync(join(work, 'tree/a.txt'), 'alpha '.repeat(5000));
  writeFileSync(join(work, 'tree/sub/b.txt'), 'beta');
  writeFileSync(join(work, 'tree/sub/noise.bin'), Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 23)));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

type Result = { stdout: string; stderr: string; code: number };
const cli = (cwd: string, args: string[], env: Record<string, string> = {}): Promise<Result> =>
  run(process.execPath, [cafs, ...args], { cwd, env: { ...process.env, CAFS_KEY: '', CAFS_KEY_FILE: '', ...env } }).then(
    (r) => ({ ...r, code: 0 }),
    (e: Result) => e,
  );

const importRoot = async (cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> => {
  const r = await cli(cwd, [...args, 'import', join(work, 'tree'), '--reproducible', '--json', '-m', 'tree'], env);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { root: string }).root;
};

describe('cafs init --compress / --encrypt', () => {
  it('records the codecs: later commands open the repository right, with the same roots as a plain one', async () => {
    const plain = join(work, 'plain');
    const zstd = join(work, 'zstd');
    for (const d of [plain, zstd]) mkdirSync(d);
    await cli(plain, ['init']);
    expect((await cli(zstd, ['init', '--compress', 'zstd:7'])).stdout).toContain('zstd:7');
    const root = await importRoot(plain);
    expect(await importRoot(zstd)).toBe(root);
    expect((await cli(zstd, ['cat', 'main:/sub/b.txt'])).stdout).toBe('beta');
    const stats = JSON.parse((await cli(zstd, ['stats', '--json'])).stdout) as { codec: string; logicalBytes: number; storedBytes: number; ratio: number };
    expect(stats.codec).toBe('zstd:7');
    expect(stats.ratio).toBeGreaterThan(1.2);
    const plainStats = JSON.parse((await cli(plain, ['stats', '--json'])).stdout) as { codec: string; logicalBytes: number; storedBytes: number; ratio: number };
    expect(plainStats).toMatchObject({ codec: 'raw', ratio: 1, logicalBytes: stats.logicalBytes });
    expect((await cli(zstd, ['fsck'])).code).toBe(0);
    // Codecs are chosen at creation.
    const again = await cli(plain, ['init', '--compress']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/without a codec|exists already/);
    expect((await cli(zstd, ['init', '--compress', 'lz4'])).stderr).toContain('--compress takes zstd or zstd:LEVEL');
  });

  it('--encrypt: a key file made at init, a clear error without it or with another, never the secret itself', async () => {
    const dir = join(work, 'enc');
    mkdirSync(dir);
    const init = await cli(dir, ['init', '--encrypt', '--compress', '--key-file', 'repo.key', '--json']);
    expect(init.code).toBe(0);
    expect(statSync(join(dir, 'repo.key')).mode & 0o777).toBe(0o600);
    const secret = readFileSync(join(dir, 'repo.key'), 'utf8').trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(init.stdout)).toMatchObject({ codecs: 'zstd:3, encrypted' });
    const root = await importRoot(dir, ['--key-file', 'repo.key']);
    expect(root).toBe(await importRoot(join(work, 'plain')));
    // The same secret through $CAFS_KEY (the file's text without its newline) and $CAFS_KEY_FILE.
    expect((await cli(dir, ['cat', 'main:/sub/b.txt'], { CAFS_KEY: secret })).stdout).toBe('beta');
    expect((await cli(dir, ['ls', 'main:/'], { CAFS_KEY_FILE: join(dir, 'repo.key') })).stdout).toContain('a.txt');
    const missing = await cli(dir, ['log']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('this repository is encrypted');
    const wrong = await cli(dir, ['log'], { CAFS_KEY: 'not the secret, but long enough' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong secret');
    for (const r of [missing, wrong, init]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
      expect(r.stderr).not.toContain('not the secret');
    }
    const stats = JSON.parse((await cli(dir, ['stats', '--json'], { CAFS_KEY: secret })).stdout) as { codec: string };
    expect(stats.codec).toBe('zstd:3+sealed');
    expect((await cli(dir, ['gc'], { CAFS_KEY: secret })).code).toBe(0);
    expect((await cli(dir, ['fsck'], { CAFS_KEY: secret })).code).toBe(0);
    // No content in the files on disk.
    const { stdout } = await run('sh', ['-c', `cat ${join(dir, '.cafs')}/* | grep -c alpha || true`]);
    expect(stdout.trim()).toBe('0');
  });

  it('on the cluster: init --compress --encrypt with $CAFS_KEY, and another process opens it', async () => {
    const url = `${cluster.url}?prefix=cli-codecs:`;
    const env = { CAFS_KEY: 'a secret for the cluster repository' };
    expect((await cli(work, ['--store', url, 'init', '--compress', 'zstd:1', '--encrypt'], env)).code).toBe(0);
    const root = await importRoot(tmpdir(), ['--store', url], env);
    expect(root).toBe(await importRoot(join(work, 'plain')));
    expect((await cli(tmpdir(), ['--store', url, 'cat', 'main:/a.txt'], env)).stdout).toBe('alpha '.repeat(5000));
    expect((await cli(tmpdir(), ['--store', url, 'log'])).stderr).toContain('this repository is encrypted');
    const stats = JSON.parse((await cli(tmpdir(), ['--store', url, 'stats', '--json'], env)).stdout) as { codec: string; ratio: number };
    expect(stats.codec).toBe('zstd:1+sealed');
  });
});
