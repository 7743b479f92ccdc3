// `pnpm bench [suite] [options]` from the workspace root: runs one suite, or all of them.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { runCli } from './cli.js';
import { runFs } from './fs.js';
import { runKv } from './kv.js';
import { runRepo } from './repo.js';
import { runStoreBench } from '@cafs/store-redis/bench';
import { UsageError, loadAverage } from './table.js';

interface Suite {
  about: string;
  run: (args: readonly string[]) => Promise<void>;
}

/** Known suites, in the order a bare `pnpm bench` runs them. */
const SUITES: Record<string, Suite> = {
  kv: { about: 'immutable B-tree (@cafs/kv) vs Map and memory-level; options: --entries N', run: runKv },
  fs: { about: 'filesystem (@cafs/fs) vs memfs, node:fs on tmpfs and @helia/unixfs; options: --snapshot-files N', run: runFs },
  repo: { about: 'repository (@cafs/repo): commit rate, full vs incremental gc, merge; options: --files N, --commits N, --rounds N, --no-merge', run: runRepo },
  cli: { about: 'the cafs command: import/export of a real tree vs cp -a and tar, cafs serve vs node:http; options: --tree DIR --rounds N --seconds N --concurrency N', run: runCli },
  store: { about: 'blob stores: memory, LevelDB and a 3-master Redis Cluster (started on loopback); options: --count-1k N --count-64k N --import-mib N', run: runStoreBench },
  http: { about: 'cafs serve under autocannon load vs node:http + fs.createReadStream on tmpfs: small files, 64 MiB files, ranges, listings, a mix; options: --seconds N --connections N --large-connections N --warmup S --rounds N --only LIST --quick', run: async (a) => (await import('./http.js')).runHttp(a) },
  fuse: { about: '@cafs/fuse branch mount vs a minimal fuse-native filesystem and tmpfs: dd, small files, tar xf; options: --mib N --files N --rounds N', run: async (a) => (await import('./fuse.js')).runFuse(a) },
  codecs: { about: 'stored-blob codecs (plain, zstd:3, sealed, zstd:3+sealed): stored bytes vs tar|zstd -3 and tar|gzip, cafs import and read throughput, on node_modules/.pnpm and a generated mix; options: --mib N (default 1024; 0: no mix) --read-rounds N --tree DIR', run: async (a) => (await import('./codecs.js')).runCodecs(a) },
  worktree: { about: 'cafs import of a generated tree (first, and unchanged with and without the stat-cache index) vs git add -A && git commit and git status; options: --files N (default 10000) --rounds N', run: async (a) => (await import('./worktree.js')).runWorktree(a) },
  sync: { about: 'cafs clone/fetch from cafs serve vs git clone/fetch (git daemon, file://) on one tree, 10 changed files; lazy mount first read; 7.5-9 min on 2 cores with the defaults; options: --files N (default 100000; 20000 takes ~2 min) --tree DIR --rounds N --mount-mib N (0: no mount)', run: async (a) => (await import('./sync.js')).runSync(a) },
};

function usage(): string {
  const names = Object.keys(SUITES);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: pnpm bench [suite] [options]   (no suite: run them all)',
    'suites:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${SUITES[n]!.about}`),
  ].join('\n');
}

/** The commit measured, and whether the working tree differs from it (best effort). */
function gitDescription(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'packages')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => l.slice(3).split('/').slice(0, 2).join('/'));
    const where = [...new Set(dirty)];
    return where.length === 0 ? `git ${head}` : `git ${head} + uncommitted changes in ${where.join(', ')}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name !== undefined && !Object.hasOwn(SUITES, name)) {
    console.error(`unknown bench suite "${name}"; known suites: ${Object.keys(SUITES).join(', ')}`);
    console.error(usage());
    return 2;
  }
  const toRun = name === undefined ? Object.keys(SUITES) : [name];
  console.log(`cafs bench: node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}`);
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`code: ${gitDescription()}`);
  console.log(`load average at start: ${loadAverage()} (other busy processes skew every figure)`);
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') console.log('note: run with --expose-gc for GC between rounds');
  for (const suite of toRun) {
    console.log('');
    console.log(`== ${suite} ==`);
    await SUITES[suite]!.run(name === undefined ? [] : rest);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
