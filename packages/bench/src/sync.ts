// The sync suite: `cafs clone` and `cafs fetch` from a `cafs serve`, side by side with git on the
// same tree (`git clone` from a `git daemon` and from file://, then `git fetch`). Every peer is a
// separate process started as its users start it; rounds interleaved, medians reported. Then,
// unless --mount-mib 0, the first read of a 1 MiB file through `cafs mount` of a remote branch
// holding a ~1 GiB tree. Everything lives in a temp dir under /dev/shm (else os.tmpdir()),
// removed at the end with every child process. No timing assertions: figures and targets only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as nfs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CAFS, mark, othersSince, startServer, stopServer } from './cli.js';
import { changeFiles, generateBigTree, generateTree, smallFiles } from './sync-tree.js';
import { UsageError, fmt, intArg, formatTable, loadAverage, median, progress, type Row } from './table.js';
import { exec as execChild, type Ran } from './child.js';

const CHANGES = 10;

interface Config {
  files: number;
  tree: string | undefined;
  rounds: number;
  mountMib: number;
}

function parseArgs(args: readonly string[]): Config {
  const cfg: Config = { files: 100_000, tree: undefined, rounds: 3, mountMib: 1024 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (min: number): number => intArg(a, args[++i], min);
    if (a === '--files') cfg.files = num(100);
    else if (a === '--rounds') cfg.rounds = num(1);
    else if (a === '--mount-mib') cfg.mountMib = num(0);
    else if (a === '--tree') {
      const v = args[++i];
      if (v === undefined) throw new UsageError('--tree needs a directory');
      cfg.tree = path.resolve(v);
    } else throw new UsageError(`sync suite: unknown option ${a} (options: --files N, --tree DIR, --rounds N, --mount-mib N)`);
  }
  return cfg;
}

// ---- child processes ----

/** Commands exec() is running, for the signal handler to stop. */
const running = new Set<ChildProcess>();

const exec = (cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> => execChild(cmd, args, { ...opts, running });

const cafs = (args: readonly string[], cwd?: string): Promise<Ran> => exec(process.execPath, [CAFS, ...args], { cwd });

// git without the user's or the system's configuration, so that the figures do not depend on them.
const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@localhost',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@localhost',
};
const git = (args: readonly string[], opts: { cwd?: string; tracePack?: string } = {}): Promise<Ran> =>
  exec('git', args, { cwd: opts.cwd, env: opts.tracePack === undefined ? GIT_ENV : { ...GIT_ENV, GIT_TRACE_PACKFILE: opts.tracePack } });

/** The JSON `cafs clone --json` / `cafs fetch --json` print (HTTP remote). */
interface CafsTransfer {
  blobs: number;
  bytes: number;
  requests?: number;
  bytesIn?: number;
  branches?: Record<string, string>;
  updated?: { branch: string; new: string }[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((done) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        done(true);
      });
      c.on('error', () => done(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${what}: port ${port} not accepting within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Bytes of the packs in a git repository's objects/pack (a clone keeps the pack it received as is). */
async function packBytes(gitDir: string): Promise<number> {
  const dir = path.join(gitDir, 'objects/pack');
  let n = 0;
  for (const f of await nfs.readdir(dir)) if (f.endsWith('.pack')) n += (await nfs.stat(path.join(dir, f))).size;
  return n;
}

const size = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);
const pct = (x: number): string => `${(100 * x).toFixed(x < 0.01 ? 3 : 2)}%`;

async function treeStats(dir: string): Promise<{ files: number; bytes: number }> {
  const s = { files: 0, bytes: 0 };
  const walk = async (d: string): Promise<void> => {
    for (const e of await nfs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        s.files++;
        s.bytes += (await nfs.stat(p)).size;
      }
    }
  };
  await walk(dir);
  return s;
}

// ---- the lazy mount ----

interface MountFigures {
  readyMs: number[];
  readMs: number[];
  fetchedBytes: number[];
  fetchedBlobs: number[];
  importMs: number;
}

/** One `cafs mount URL DIR` per round: time to mounted, `cat` of one 1 MiB file, blobs fetched (printed at unmount). */
async function lazyMount(tmp: string, mnt: string, cfg: Config, children: ChildProcess[]): Promise<MountFigures> {
  const big = path.join(tmp, 'big');
  const bigRepo = path.join(tmp, 'big-repo');
  progress(`lazy mount: generating ${cfg.mountMib} files of 1 MiB and importing them`);
  const files = await generateBigTree(big, cfg.mountMib);
  await cafs(['init', '--repo', bigRepo]);
  const imported = await cafs(['import', big, '-m', 'big', '--repo', bigRepo]);
  await nfs.rm(big, { recursive: true, force: true });
  const server = await startServer(process.execPath, [CAFS, 'serve', '--port', '0', '--repo', bigRepo]);
  children.push(server.child);
  const fig: MountFigures = { readyMs: [], readMs: [], fetchedBytes: [], fetchedBlobs: [], importMs: imported.ms };
  for (let round = 0; round < cfg.rounds; round++) {
    progress(`lazy mount round ${round + 1}/${cfg.rounds}`);
    const t0 = performance.now();
    const child = spawn(process.execPath, [CAFS, 'mount', `${server.url}/b/main`, mnt, '--json'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve();
      });
      void exited.then(() => reject(new Error(`cafs mount exited before mounting: ${err.trim()}`)));
    });
    fig.readyMs.push(performance.now() - t0);
    // The read in a child process: this one must not make a synchronous call on its own child's mount.
    const file = files[(round * 337 + (files.length >> 1)) % files.length]!;
    const read = await exec('sh', ['-c', 'cat "$1" | wc -c', 'sh', path.join(mnt, file)]);
    if (Number(read.out.trim()) !== 1024 * 1024) throw new Error(`read ${read.out.trim()} bytes of ${file} through the mount, expected 1048576`);
    fig.readMs.push(read.ms);
    child.kill('SIGTERM');
    await exited;
    const m = /fetched (\d+) blobs, (\d+) bytes/.exec(err);
    if (m === null) throw new Error(`cafs mount printed no "fetched N blobs, M bytes" at unmount: ${err.trim()}`);
    fig.fetchedBlobs.push(Number(m[1]));
    fig.fetchedBytes.push(Number(m[2]));
  }
  return fig;
}

// ---- the suite ----

export async function runSync(args: readonly string[]): Promise<void> {
  const cfg = parseArgs(args);
  const started = performance.now();
  if (!existsSync(CAFS)) throw new Error(`${CAFS} is missing: run pnpm build first`);
  if (cfg.tree !== undefined && !existsSync(cfg.tree)) throw new UsageError(`sync suite: ${cfg.tree} does not exist`);
  const tmpRoot = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const tmp = await nfs.mkdtemp(path.join(tmpRoot, 'cafs-bench-sync-'));
  const mnt = path.join(tmp, 'mnt');
  const children: ChildProcess[] = [];
  // Ctrl-C or a kill: stop the children (and wait, so that none writes into the temp dir while
  // it goes), drop the mount, remove the temp dir, then exit.
  const onSignal = (): void => {
    void Promise.all([...running, ...children].map((c) => stopServer(c))).finally(() => {
      spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
      rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Row[] = [];
  const notes: string[] = [];
  let worstBusy = 0;
  try {
    // ---- the tree, and both sources holding it ----
    const tree = path.join(tmp, 'tree');
    let candidates: string[];
    if (cfg.tree === undefined) {
      progress(`generating ${fmt.int(cfg.files)} files`);
      const g = await generateTree(tree, cfg.files);
      candidates = g.textFiles;
      console.log(
        `sync suite: generated tree of ${fmt.int(g.files)} files (${fmt.int(g.files - g.binaryFiles)} text of 100 B-8 KiB, ${fmt.int(g.binaryFiles)} random binary of 64 KiB-1 MiB; ` +
          `~100 entries per directory), ${size(g.bytes)}, in ${tmp}`,
      );
    } else {
      // A copy: the rounds change files, and the original may change under a running bench.
      progress(`copying ${cfg.tree}`);
      await exec('cp', ['-a', cfg.tree, tree]);
      candidates = await smallFiles(tree, 64 * 1024);
    }
    const st = await treeStats(tree);
    if (cfg.tree !== undefined) console.log(`sync suite: tree ${cfg.tree} (${fmt.int(st.files)} files, ${size(st.bytes)}), copied to ${tmp}`);

    progress('cafs: init + import into the source repository');
    const cafsSrc = path.join(tmp, 'cafs-src');
    await cafs(['init', '--repo', cafsSrc]);
    const imp = await cafs(['import', tree, '-m', 'bench tree', '--repo', cafsSrc, '--json']);
    let cafsHead = (JSON.parse(imp.out) as { commit: string }).commit;

    progress('git: init + add -A + commit + repack in the source repository');
    const gitBase = path.join(tmp, 'git');
    const gitSrc = path.join(gitBase, 'repo.git');
    const inSrc = (...a: string[]): string[] => [`--git-dir=${gitSrc}`, `--work-tree=${tree}`, ...a];
    await git(['init', '-q', '--bare', '--initial-branch=main', gitSrc]);
    const added = await git(inSrc('add', '-A'));
    const committed = await git(inSrc('commit', '-q', '-m', 'bench tree'));
    // A server's repository is packed (git gc); a fresh commit's loose objects would make
    // every clone compress the whole tree again.
    const repacked = await git([`--git-dir=${gitSrc}`, 'repack', '-a', '-d', '-q']);
    const gitHead = async (): Promise<string> => (await git([`--git-dir=${gitSrc}`, 'rev-parse', 'HEAD'])).out.trim();
    notes.push(
      `setup (untimed in the table): cafs init + import ${fmt.ms(imp.ms)}; git add -A ${fmt.ms(added.ms)}, commit ${fmt.ms(committed.ms)}, repack -a -d ${fmt.ms(repacked.ms)}`,
    );

    progress('starting cafs serve --port 0 and git daemon');
    const server = await startServer(process.execPath, [CAFS, 'serve', '--port', '0', '--repo', cafsSrc]);
    children.push(server.child);
    const port = await freePort();
    const daemon = spawn('git', ['daemon', '--reuseaddr', `--base-path=${gitBase}`, '--export-all', '--listen=127.0.0.1', `--port=${port}`, gitBase], {
      env: GIT_ENV,
      stdio: 'ignore',
    });
    children.push(daemon);
    await waitForPort(port, daemon, 'git daemon');
    const live = (): number[] => children.filter((c) => c.exitCode === null && c.pid !== undefined).map((c) => c.pid!);

    const startupRuns: number[] = [];
    for (let i = 0; i < 3; i++) startupRuns.push((await cafs(['--version'])).ms);
    const startup = median(startupRuns);

    // ---- rounds ----
    const times: Record<string, number[]> = {};
    const bytes: Record<string, number[]> = {};
    const cafsCounts: Record<'clone' | 'fetch', { blobs: number[]; requests: number[]; payload: number[] }> = {
      clone: { blobs: [], requests: [], payload: [] },
      fetch: { blobs: [], requests: [], payload: [] },
    };
    const record = (name: string, ms: number, b: number): void => {
      (times[name] ??= []).push(ms);
      (bytes[name] ??= []).push(b);
    };
    const cafsRecord = (kind: 'clone' | 'fetch', ms: number, j: CafsTransfer): void => {
      record(`${kind} cafs`, ms, j.bytesIn ?? NaN);
      cafsCounts[kind].blobs.push(j.blobs);
      cafsCounts[kind].requests.push(j.requests ?? NaN);
      cafsCounts[kind].payload.push(j.bytes);
    };
    /** Runs the steps once each, in an order rotated by the round. */
    const rotated = async (round: number, steps: (() => Promise<void>)[]): Promise<void> => {
      for (let j = 0; j < steps.length; j++) await steps[(round + j) % steps.length]!();
    };
    const dir = { cafs: path.join(tmp, 'clone-cafs'), daemon: path.join(tmp, 'clone-git'), bare: path.join(tmp, 'clone-git-nc'), file: path.join(tmp, 'clone-git-file') };
    const gitUrl = `git://127.0.0.1:${port}/repo`;
    const trace = path.join(tmp, 'fetch.pack');
    const m0 = mark(live());
    for (let round = 0; round < cfg.rounds; round++) {
      progress(`round ${round + 1}/${cfg.rounds}: full clones`);
      const expectGit = await gitHead();
      const checkGit = async (d: string): Promise<void> => {
        const h = (await git(['rev-parse', 'HEAD'], { cwd: d })).out.trim();
        if (h !== expectGit) throw new Error(`git clone in ${d} is at ${h}, the source at ${expectGit}`);
      };
      await rotated(round, [
        async () => {
          const r = await cafs(['clone', server.url, dir.cafs, '--json']);
          const j = JSON.parse(r.out) as CafsTransfer;
          if (j.branches?.['main'] !== cafsHead) throw new Error(`cafs clone got main ${j.branches?.['main']}, the source is at ${cafsHead}`);
          cafsRecord('clone', r.ms, j);
        },
        async () => {
          const r = await git(['clone', '-q', gitUrl, dir.daemon]);
          record('clone git://', r.ms, await packBytes(path.join(dir.daemon, '.git')));
          await checkGit(dir.daemon);
        },
        async () => {
          const r = await git(['clone', '-q', '--no-checkout', gitUrl, dir.bare]);
          record('clone git:// --no-checkout', r.ms, await packBytes(path.join(dir.bare, '.git')));
          await checkGit(dir.bare);
        },
        async () => {
          const r = await git(['clone', '-q', '--no-local', `file://${gitSrc}`, dir.file]);
          record('clone file://', r.ms, await packBytes(path.join(dir.file, '.git')));
          await checkGit(dir.file);
        },
      ]);

      progress(`round ${round + 1}/${cfg.rounds}: ${CHANGES} files changed, committed on both sources, then fetched`);
      await changeFiles(tree, candidates, CHANGES, round);
      // Through the serving process's socket: `cafs serve` holds the LevelDB repository.
      const reimport = await cafs(['import', tree, '-m', `round ${round + 1}`, '--repo', cafsSrc, '--json']);
      cafsHead = (JSON.parse(reimport.out) as { commit: string }).commit;
      await git(inSrc('add', '-A'));
      await git(inSrc('commit', '-q', '-m', `round ${round + 1}`));
      const newGit = await gitHead();
      await rotated(round, [
        async () => {
          const r = await cafs(['fetch', '--json'], dir.cafs);
          const j = JSON.parse(r.out) as CafsTransfer;
          const moved = j.updated?.find((u) => u.branch === 'main')?.new;
          if (moved !== cafsHead) throw new Error(`cafs fetch moved origin/main to ${moved}, the source is at ${cafsHead}`);
          cafsRecord('fetch', r.ms, j);
        },
        async () => {
          await nfs.rm(trace, { force: true });
          // Fewer objects than fetch.unpackLimit are unpacked into loose objects: the pack
          // received is measured as git traces it (GIT_TRACE_PACKFILE writes its bytes).
          const r = await git(['fetch', '-q'], { cwd: dir.daemon, tracePack: trace });
          const h = (await git(['rev-parse', 'origin/main'], { cwd: dir.daemon })).out.trim();
          if (h !== newGit) throw new Error(`git fetch moved origin/main to ${h}, the source is at ${newGit}`);
          record('fetch git://', r.ms, (await nfs.stat(trace)).size);
        },
      ]);
      for (const d of Object.values(dir)) await nfs.rm(d, { recursive: true, force: true });
    }
    const busySync = othersSince(m0, live());
    worstBusy = Math.max(worstBusy, busySync ?? 0);

    // ---- the table ----
    const t = (k: string): number => median(times[k]!);
    const b = (k: string): number => median(bytes[k]!);
    const c = t('clone cafs');
    const clonePeers = [
      ['clone git://', 'git clone git:// (git daemon)'],
      ['clone git:// --no-checkout', 'git clone --no-checkout git://'],
      ['clone file://', 'git clone --no-local file://'],
    ] as const;
    clonePeers.forEach(([k, label], i) => {
      rows.push({
        operation: i === 0 ? `full clone (${fmt.int(st.files)} files, ${size(st.bytes)})` : '',
        cafs: i === 0 ? fmt.ms(c) : '',
        peer: label,
        peerFigure: fmt.ms(t(k)),
        ratio: c / t(k),
        target: '<= 1.0x',
        met: c / t(k) <= 1,
      });
    });
    const cc = cafsCounts.clone;
    rows.push({
      operation: 'full clone: bytes received',
      cafs: `${size(b('clone cafs'))} (${fmt.int(median(cc.blobs))} blobs, ${median(cc.requests)} req)`,
      peer: 'git: pack received (git://)',
      peerFigure: size(b('clone git://')),
      ratio: b('clone cafs') / b('clone git://'),
    });
    const f = t('fetch cafs');
    rows.push({
      operation: `fetch after ${CHANGES} changed files`,
      cafs: fmt.ms(f),
      peer: 'git fetch git://',
      peerFigure: fmt.ms(t('fetch git://')),
      ratio: f / t('fetch git://'),
      target: '< 5x',
      met: f / t('fetch git://') < 5,
    });
    const fc = cafsCounts.fetch;
    rows.push({
      operation: 'fetch: bytes received',
      cafs: `${size(b('fetch cafs'))} (${fmt.int(median(fc.blobs))} blobs, ${median(fc.requests)} req)`,
      peer: 'git: pack received',
      peerFigure: size(b('fetch git://')),
      ratio: b('fetch cafs') / b('fetch git://'),
    });
    const share = b('fetch cafs') / b('clone cafs');
    rows.push({
      operation: 'fetch bytes / full clone bytes',
      cafs: pct(share),
      peer: 'git: fetch pack / clone pack',
      peerFigure: pct(b('fetch git://') / b('clone git://')),
      target: '< 1% (cafs)',
      met: share < 0.01,
    });

    notes.push(
      `medians of ${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'}, each running the clones then the fetches in an order rotated by the round (no warm-up round); ` +
        `times are wall times of the child process, start to exit; ratio = cafs / git`,
    );
    notes.push(
      `cafs: \`cafs serve --port 0\` on the source (LevelDB in ${tmpRoot}), \`cafs clone URL DIR --json\`, \`cafs fetch --json\` in the clone; ` +
        `bytes are the HTTP response bodies the client read (\`bytesIn\`: blobs plus framing; blob payload medians: clone ${size(median(cc.payload))}, fetch ${size(median(fc.payload))}); ` +
        `req = HTTP requests (\`requests\` in the JSON). Each cafs figure includes node start-up and module loading: \`cafs --version\` takes ${fmt.ms(startup)}`,
    );
    notes.push(
      `git ${(await git(['--version'])).out.trim().replace(/^git version /, '')}: \`git daemon --reuseaddr --export-all\` on the source (a bare repository, repacked once after the first commit); ` +
        `\`git clone\` checks out a working tree, which a cafs clone does not write (cafs has no working tree), hence the --no-checkout row; ` +
        `clone bytes = size of the .pack the clone keeps; fetch bytes = the pack as GIT_TRACE_PACKFILE records it (git unpacks fewer than 100 objects into loose ones); ` +
        `neither counts the ref negotiation`,
    );
    notes.push(
      `each round rewrites ${CHANGES} different ${cfg.tree === undefined ? 'text files' : 'files of at most 64 KiB'} (same size, new text), ` +
        `then \`cafs import\` (through the server's socket) and \`git add -A && git commit\` on the sources, untimed`,
    );
    if (busySync !== undefined) notes.push(`CPU share other processes took during the rounds (of ${os.cpus().length} cores): ${(100 * busySync).toFixed(0)}%`);

    // ---- the lazy mount ----
    let skipped: string | undefined;
    if (cfg.mountMib === 0) skipped = '--mount-mib 0';
    else if (!existsSync('/dev/fuse')) skipped = 'no /dev/fuse';
    else if (spawnSync('fusermount', ['-V'], { stdio: 'ignore' }).error !== undefined) skipped = 'no fusermount';
    if (skipped === undefined) {
      const m1 = mark(live());
      const mf = await lazyMount(tmp, mnt, cfg, children);
      const busyMount = othersSince(m1, live());
      worstBusy = Math.max(worstBusy, busyMount ?? 0);
      const treeSize = cfg.mountMib * 1024 * 1024;
      const fetched = median(mf.fetchedBytes);
      rows.push({ operation: `lazy mount of a ${size(treeSize)} remote branch: mounted`, cafs: fmt.ms(median(mf.readyMs)), peer: '(no peer)' });
      rows.push({ operation: 'first read of one 1 MiB file (cat)', cafs: fmt.ms(median(mf.readMs)), peer: '(no peer)' });
      rows.push({
        operation: 'bytes the mount fetched (mount + read)',
        cafs: `${size(fetched)} (${median(mf.fetchedBlobs)} blobs)`,
        peer: `${pct(fetched / treeSize)} of the tree`,
      });
      notes.push(
        `lazy mount: ${cfg.mountMib} files of 1 MiB (random bytes, 100 per directory) imported into a second repository (${fmt.ms(mf.importMs)}) served by its own \`cafs serve\`; ` +
          `each of ${cfg.rounds} rounds runs \`cafs mount http://127.0.0.1:P/b/main DIR --json\` (mounted = spawn to its JSON line), \`cat FILE | wc -c\` of a different file in a child process, ` +
          `then SIGTERM; bytes are what the mount prints at unmount (\`fetched N blobs, M bytes\`, blob bytes). ` +
          `git has no lazy read-only mount to set beside it` +
          (busyMount === undefined ? '' : `; CPU share other processes took: ${(100 * busyMount).toFixed(0)}%`),
      );
    } else notes.push(`lazy mount skipped: ${skipped}`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    for (const c of children.reverse()) await stopServer(c);
    spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore' });
    await nfs.rm(tmp, { recursive: true, force: true, maxRetries: 5 });
  }

  console.log('');
  if (worstBusy > 0.1) console.log(`WARNING: other processes took up to ${(100 * worstBusy).toFixed(0)}% of the CPU during this run (see the notes); the figures are skewed.`);
  console.log(formatTable(rows));
  console.log('');
  for (const n of notes) console.log(`- ${n}`);
  console.log(`sync suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
