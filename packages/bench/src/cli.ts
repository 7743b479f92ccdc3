// The cli suite: the built `cafs` command (packages/cli/dist/main.js) run as child processes.
// - `cafs import` / `cafs export` of a real tree (by default the workspace's node_modules/.pnpm)
//   against `cp -a` and `tar c | tar x` of the same tree, interleaved rounds, medians;
// - `cafs serve --port 0` on 127.0.0.1 against a minimal node:http static server, load from a
//   second process (node:http keep-alive GET loops, bounded in time and in requests).
// Temp dirs live under /dev/shm (else os.tmpdir()) and are removed afterwards. No timing assertions.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as nfs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { UsageError, cpuMark, fmt, formatTable, interleaved, loadAverage, median, progress, type Row } from './table.js';
import { exec } from './child.js';

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CAFS = path.join(WORKSPACE, 'packages/cli/dist/main.js');

export interface CliBenchConfig {
  /** The tree imported, exported and copied. */
  tree: string;
  /** Recorded rounds of the tree contenders, after one warm-up round. */
  rounds: number;
  /** Seconds of load per HTTP measurement. */
  seconds: number;
  /** Concurrent request loops for the small file / the large one. */
  concurrency: number;
  largeConcurrency: number;
  /** Recorded rounds of the HTTP contenders, after one warm-up round. */
  httpRounds: number;
}

export const DEFAULT_CLI_CONFIG: CliBenchConfig = {
  tree: path.join(WORKSPACE, 'node_modules/.pnpm'),
  rounds: 3,
  seconds: 3,
  concurrency: 16,
  largeConcurrency: 2,
  httpRounds: 3,
};

function parseCliArgs(args: readonly string[]): CliBenchConfig {
  const cfg = { ...DEFAULT_CLI_CONFIG };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (): number => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--tree') {
      const v = args[++i];
      if (v === undefined) throw new UsageError('--tree needs a directory');
      cfg.tree = path.resolve(v);
    } else if (a === '--rounds') cfg.rounds = num();
    else if (a === '--seconds') cfg.seconds = num();
    else if (a === '--concurrency') cfg.concurrency = num();
    else throw new UsageError(`cli suite: unknown option ${a} (options: --tree DIR, --rounds N, --seconds N, --concurrency N)`);
  }
  return cfg;
}

// ---- child processes ----

/** Runs a command to completion; rejects with its stderr on a non-zero exit. Resolves to stdout. */
export async function run(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  return (await exec(cmd, args, opts)).out;
}

export const cafs = (...args: string[]): Promise<string> => run(process.execPath, [CAFS, ...args]);

/** Starts a server child that prints `http://127.0.0.1:PORT/` on stdout; resolves to it and its base URL. */
export function startServer(cmd: string, args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${args.join(' ')}: no address printed within 20 s: ${err.trim()}`));
    }, 20_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${m[1]}` });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code}) before listening: ${err.trim()}`));
    });
  });
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

// The peer HTTP server: node:http streaming files of one directory from disk (page cache).
const PEER_SERVER = `
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
const dir = process.argv[2];
const server = http.createServer((req, res) => {
  const file = path.join(dir, path.basename(decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404); res.end('not found\\n'); return; }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
    fs.createReadStream(file).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => console.log('serving on http://127.0.0.1:' + server.address().port + '/'));
process.on('SIGTERM', () => process.exit(0));
`;

// The load generator, a second process: N loops of GET for a bounded time and request count.
// node:http with a keep-alive agent: about 5x the request rate of fetch (undici) on this kind
// of machine, so the small-file figure is less a measure of the client.
const LOADGEN = `
import http from 'node:http';
const [url, conc, seconds, maxReq] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
let issued = 0, done = 0, bytes = 0, errors = 0;
const t0 = performance.now();
const end = t0 + seconds * 1000;
const get = () => new Promise((resolve) => {
  const req = http.get(url, { agent }, (res) => {
    res.on('data', (c) => { bytes += c.length; });
    res.on('end', () => { if (res.statusCode === 200) done++; else errors++; resolve(); });
    res.on('error', () => { errors++; resolve(); });
  });
  req.on('error', () => { errors++; resolve(); });
});
async function loop() {
  while (performance.now() < end && issued < maxReq) { issued++; await get(); }
}
await Promise.all(Array.from({ length: conc }, loop));
const ms = performance.now() - t0;
agent.destroy();
console.log(JSON.stringify({ requests: done, bytes, errors, ms }));
`;

interface Load {
  requests: number;
  bytes: number;
  errors: number;
  ms: number;
}

// ---- CPU taken by others: the machine's busy time minus this process and its children ----

/** CPU seconds of a process: utime + stime + cutime + cstime (children it has waited for). */
export function procCpu(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

export interface Mark {
  wallMs: number;
  machineBusy: number;
  ours: number;
}

export function mark(live: readonly number[]): Mark | undefined {
  const m = cpuMark();
  if (m === undefined) return undefined;
  return { wallMs: m.wallMs, machineBusy: m.machineBusy, ours: procCpu('self') + live.reduce((s, p) => s + procCpu(p), 0) };
}

export function othersSince(from: Mark | undefined, live: readonly number[]): number | undefined {
  const to = mark(live);
  if (from === undefined || to === undefined) return undefined;
  const capacity = ((to.wallMs - from.wallMs) / 1000) * os.cpus().length;
  const others = to.machineBusy - from.machineBusy - (to.ours - from.ours);
  return capacity > 0 ? Math.min(1, Math.max(0, others / capacity)) : undefined;
}

// ---- the tree ----

async function treeStats(dir: string): Promise<{ files: number; dirs: number; links: number; bytes: number }> {
  const s = { files: 0, dirs: 0, links: 0, bytes: 0 };
  const walk = async (d: string): Promise<void> => {
    for (const e of await nfs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        s.dirs++;
        await walk(p);
      } else if (e.isSymbolicLink()) s.links++;
      else if (e.isFile()) {
        s.files++;
        s.bytes += (await nfs.lstat(p)).size;
      }
    }
  };
  await walk(dir);
  return s;
}

const mbps = (bytes: number, ms: number): string => `${((bytes / 1e6) * 1000 / ms).toFixed(1)} MB/s`;
const filesPerSec = (files: number, ms: number): string => fmt.rate((files * 1000) / ms).replace('/s', ' files/s');

export async function runCli(args: readonly string[]): Promise<void> {
  const cfg = parseCliArgs(args);
  const started = performance.now();
  if (!existsSync(CAFS)) throw new Error(`${CAFS} is missing: run pnpm build first`);
  if (!existsSync(cfg.tree)) throw new UsageError(`cli suite: ${cfg.tree} does not exist (use --tree DIR)`);
  const rows: Row[] = [];
  const notes: string[] = [];
  const busy: string[] = [];
  let worstBusy = 0;
  const section = async <T>(name: string, live: () => number[], fn: () => Promise<T>): Promise<T> => {
    const m = mark(live());
    const out = await fn();
    const share = othersSince(m, live());
    if (share !== undefined) {
      busy.push(`${name} ${(100 * share).toFixed(0)}%`);
      worstBusy = Math.max(worstBusy, share);
    }
    return out;
  };

  // tmpfs when there is one: the peers then measure CPU cost, not the disk's (on this kind of VM
  // the ext4 /tmp made cp -a vary between 0.3 s and 5 s from one minute to the next).
  const tmpRoot = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const tmp = await nfs.mkdtemp(path.join(tmpRoot, 'cafs-bench-cli-'));
  const servers: ChildProcess[] = [];
  try {
    // One copy of the tree in the temp dir, the source of every round: the workspace's
    // node_modules can change under a running bench (another engineer's pnpm install).
    const source = path.join(tmp, 'tree');
    await run('cp', ['-a', cfg.tree, source]);
    const st = await treeStats(source);
    console.log(
      `cli suite: ${path.relative(process.cwd(), CAFS) || CAFS} as child processes; tree ${cfg.tree} ` +
        `(${fmt.int(st.files)} files, ${fmt.int(st.dirs)} dirs, ${fmt.int(st.links)} symlinks, ${(st.bytes / 1e6).toFixed(1)} MB in files), ` +
        `copied once to the temp dir ${tmp} (removed afterwards)`,
    );

    // ---- import / export vs cp -a and tar ----
    const tree = await section('tree', () => [], async () => {
      progress(`preparing: a repository holding the tree (the source of every export round)`);
      const sourceRepo = path.join(tmp, 'source-repo');
      await cafs('init', '--repo', sourceRepo);
      await cafs('import', source, '-m', 'bench', '--repo', sourceRepo);
      const repo = path.join(tmp, 'import-repo');
      const out = (what: string): string => path.join(tmp, `out-${what}`);
      const contenders: Record<string, () => Promise<unknown>> = {
        'cafs import': () => cafs('import', source, '-m', 'bench', '--repo', repo),
        'cafs export': () => cafs('export', 'main', out('export'), '--repo', sourceRepo),
        'cp -a': () => run('cp', ['-a', source, out('cp')]),
        'tar c | tar x': async () => {
          await nfs.mkdir(out('tar'));
          await run('sh', ['-c', 'tar -C "$1" -cf - . | tar -C "$2" -xf -', 'sh', source, out('tar')]);
        },
      };
      const names = Object.keys(contenders);
      const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
      // One interleaved() call per round, the contenders rotated by the round (as interleaved()
      // does across rounds), so that the outputs can be removed and a fresh repository made
      // between rounds, untimed: the temp dir holds one copy of each output at a time.
      for (let round = 0; round < 1 + cfg.rounds; round++) {
        progress(`tree round ${round + 1}/${1 + cfg.rounds}${round === 0 ? ' (warm-up)' : ''}`);
        await nfs.rm(repo, { recursive: true, force: true });
        for (const what of ['export', 'cp', 'tar']) await nfs.rm(out(what), { recursive: true, force: true });
        await cafs('init', '--repo', repo);
        const rotated = Object.fromEntries(names.map((_, j) => names[(round + j) % names.length]!).map((n) => [n, contenders[n]!]));
        const t = await interleaved(rotated, 1, 0);
        if (round > 0) for (const n of names) times[n]!.push(...t[n]!);
      }
      // Check that every contender wrote the whole tree (file counts of the last round).
      for (const what of ['export', 'cp', 'tar']) {
        const s = await treeStats(out(what));
        if (s.files !== st.files) notes.push(`WARNING: ${what} wrote ${fmt.int(s.files)} files of ${fmt.int(st.files)}`);
      }
      return times;
    });
    const med: Record<string, number> = Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, median(v)]));
    const figure = (ms: number): string => `${filesPerSec(st.files, ms)}, ${mbps(st.bytes, ms)}`;
    for (const op of ['cafs import', 'cafs export'] as const) {
      const what = op === 'cafs import' ? 'import the tree into a fresh repo' : 'export the tree to a fresh dir';
      for (const peer of ['cp -a', 'tar c | tar x'] as const) {
        rows.push({
          operation: peer === 'cp -a' ? `${op}: ${what}` : '',
          cafs: peer === 'cp -a' ? figure(med[op]!) : '',
          peer: `${peer} of the tree`,
          peerFigure: figure(med[peer]!),
          ratio: med[op]! / med[peer]!,
        });
      }
    }
    notes.push(
      `tree medians of ${cfg.rounds} rounds after 1 warm-up: ` +
        Object.entries(med).map(([k, v]) => `${k} ${fmt.ms(v)}`).join(', ') +
        ` (cafs times include node start-up, ~0.2-0.4 s; ratio = cafs time / peer time)`,
    );

    // ---- HTTP ----
    progress('http: a repository with a 1 KiB and a 64 MiB file; cafs serve vs node:http + fs streams');
    const files = path.join(tmp, 'http-files');
    await nfs.mkdir(files);
    const rand = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 65536) b.set(Buffer.from(crypto.getRandomValues(new Uint8Array(Math.min(65536, n - i)))), i);
      return b;
    };
    await nfs.writeFile(path.join(files, 'small.bin'), rand(1024));
    await nfs.writeFile(path.join(files, 'large.bin'), rand(64 * 2 ** 20));
    const httpRepo = path.join(tmp, 'http-repo');
    await cafs('init', '--repo', httpRepo);
    await cafs('import', files, '-m', 'http', '--repo', httpRepo);
    const peerScript = path.join(tmp, 'peer-server.mjs');
    const loadScript = path.join(tmp, 'loadgen.mjs');
    await nfs.writeFile(peerScript, PEER_SERVER);
    await nfs.writeFile(loadScript, LOADGEN);
    const cafsServer = await startServer(process.execPath, [CAFS, 'serve', '--port', '0', '--repo', httpRepo]);
    servers.push(cafsServer.child);
    const peerServer = await startServer(process.execPath, [peerScript, files]);
    servers.push(peerServer.child);
    const live = (): number[] => servers.map((s) => s.pid!).filter((p) => p !== undefined);

    const load = async (url: string, conc: number, maxReq: number): Promise<Load> => {
      const out = await run(process.execPath, [loadScript, url, String(conc), String(cfg.seconds), String(maxReq)]);
      return JSON.parse(out) as Load;
    };
    const cases = [
      { name: 'small', file: 'small.bin', conc: cfg.concurrency, maxReq: 200_000 },
      { name: 'large', file: 'large.bin', conc: cfg.largeConcurrency, maxReq: 64 },
    ] as const;
    const results: Record<string, Load[]> = {};
    await section('http', live, async () => {
      for (const c of cases) {
        const contenders: Record<string, (r: number) => Promise<unknown>> = {};
        for (const [who, base, p] of [
          ['cafs', cafsServer.url, '/b/main/'],
          ['peer', peerServer.url, '/'],
        ] as const) {
          const key = `${c.name} ${who}`;
          results[key] = [];
          contenders[key] = async (r) => {
            if (who === 'cafs') progress(`http ${c.name} file, round ${r + 1}/${1 + cfg.httpRounds}${r === 0 ? ' (warm-up)' : ''}`);
            const l = await load(`${base}${p}${c.file}`, c.conc, c.maxReq);
            if (r > 0) results[key]!.push(l);
          };
        }
        await interleaved(contenders, cfg.httpRounds, 1);
      }
    });
    const rps = (ls: Load[]): number => median(ls.map((l) => (l.requests * 1000) / l.ms));
    const bps = (ls: Load[]): number => median(ls.map((l) => l.bytes / l.ms / 1000));
    const errs = (ls: Load[]): number => ls.reduce((s, l) => s + l.errors, 0);
    const sc = rps(results['small cafs']!);
    const sp = rps(results['small peer']!);
    rows.push({
      operation: `HTTP GET 1 KiB file, ${cfg.concurrency} loops, ${cfg.seconds} s`,
      cafs: fmt.rate(sc).replace('/s', ' req/s'),
      peer: 'node:http + fs stream',
      peerFigure: fmt.rate(sp).replace('/s', ' req/s'),
      ratio: sp / sc,
    });
    const lc = bps(results['large cafs']!);
    const lp = bps(results['large peer']!);
    rows.push({
      operation: `HTTP GET 64 MiB file, ${cfg.largeConcurrency} loops, ${cfg.seconds} s (<= 64 req)`,
      cafs: `${lc.toFixed(0)} MB/s`,
      peer: 'node:http + fs stream',
      peerFigure: `${lp.toFixed(0)} MB/s`,
      ratio: lp / lc,
    });
    const e = ['small cafs', 'small peer', 'large cafs', 'large peer'].map((k) => `${k} ${errs(results[k]!)}`);
    notes.push(
      `HTTP: cafs serve --port 0 (LevelDB repo, GET /b/main/<file>) vs a node:http server streaming the same files from ${tmpRoot}; ` +
        `load from a second node process (node:http keep-alive GET loops, bodies read in full) on 127.0.0.1; medians of ${cfg.httpRounds} rounds after 1 warm-up; ` +
        `the load generator shares the ${os.cpus().length} cores with the server. Errors/non-200: ${e.join(', ')}`,
    );
  } finally {
    for (const s of servers) await stopServer(s);
    await nfs.rm(tmp, { recursive: true, force: true });
  }

  console.log('');
  if (worstBusy > 0.1) {
    console.log(`WARNING: other processes took up to ${(100 * worstBusy).toFixed(0)}% of the CPU during this run (see the last note); the figures are skewed.`);
  }
  console.log(formatTable(rows));
  console.log('');
  if (busy.length > 0) notes.push(`CPU share other processes took during each part (of ${os.cpus().length} cores): ${busy.join(', ')}`);
  for (const n of notes) console.log(`- ${n}`);
  console.log(`cli suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
