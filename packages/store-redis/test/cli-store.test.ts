// The `cafs` binary on a Redis Cluster: `--store redis://...` for init, import, log, cat, serve.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
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
  work = mkdtempSync(join(tmpdir(), 'cafs-cli-redis-'));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('cafs --store redis://', () => {
  it('init, import, log and cat keep the repository on the cluster', async () => {
    const url = `${cluster.url}?prefix=cli-test:`;
    const cli = (...args: string[]) => run(process.execPath, [cafs, '--store', url, ...args], { cwd: work });
    mkdirSync(join(work, 'tree/sub'), { recursive: true });
    writeFileSync(join(work, 'tree/a.txt'), 'alpha');
    writeFileSync(join(work, 'tree/sub/b.txt'), 'beta');
    await cli('init');
    await cli('import', join(work, 'tree'), '-m', 'first import');
    const log = (await cli('log')).stdout;
    expect(log).toContain('first import');
    expect((await cli('cat', 'main:/sub/b.txt')).stdout).toBe('beta');
    // Another process sees the same repository through the cluster, with no local .cafs.
    const other = await run(process.execPath, [cafs, '--store', url, 'ls', 'main:/'], { cwd: tmpdir() });
    expect(other.stdout).toMatch(/a\.txt/);
    // A bad URL is a one-line error, not a stack trace.
    const bad = await run(process.execPath, [cafs, '--store', 'ftp://nowhere', 'log'], { cwd: work }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr.trim().split('\n').length).toBe(1);
  }, 120_000);
});
