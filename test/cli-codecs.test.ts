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
