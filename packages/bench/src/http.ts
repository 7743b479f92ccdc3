// The http suite: `cafs serve` under load on loopback against node:http + fs.createReadStream
// serving the same files from tmpfs. Each server is a child process started as its users start
// it; autocannon runs in this process (so the load generator is never in a server's process).
// Scenarios: small files, 64 MiB files, single ranges, a 1000-entry listing, a mix; each run
// against both servers in turn with the same parameters and the same request sequence.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as nfs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CAFS, cafs, mark, othersSince, startServer, stopServer } from './cli.js';
import { runLoad, prng, statusKb, type LoadResult, type Target } from './http-load.js';
import { LARGE_SIZE, LIST_ENTRIES, PEER_HTTP_SERVER, makeDataSet, type DataSet } from './http-peer.js';
import { BusyMeter, UsageError, fmt, intArg, formatGrid, loadAverage, median, progress } from './table.js';

export interface HttpBenchConfig {
  /** Seconds of recorded load per server per scenario and round. */
  seconds: number;
  /** Concurrent connections for every scenario but the 64 MiB files. */
  connections: number;
  largeConnections: number;
  /** Unrecorded seconds of the same load per server before a scenario's first round. */
  warmup: number;
  rounds: number;
  /** Scenario names to run (all when undefined). */
  only: string[] | undefined;
}

export const DEFAULT_HTTP_CONFIG: HttpBenchConfig = { seconds: 30, connections: 64, largeConnections: 8, warmup: 3, rounds: 1, only: undefined };

const RSS_LIMIT = 300e6;
const SMALL_RPS_TARGET = 0.8;
const LARGE_MBPS_TARGET = 0.7;

type Who = 'cafs' | 'peer';
const WHO: readonly Who[] = ['cafs', 'peer'];
const PREFIX: Record<Who, string> = { cafs: '/b/main/', peer: '/' };

interface Scenario {
  name: string;
  about: string;
  connections: number;
  /** Request-count bound per second of load (far above what either server reaches here). */
  maxPerSecond: number;
  /** Draws a target relative to the served root (no leading slash). */
  draw: (rand: () => number) => Target;
}

function parseHttpArgs(args: readonly string[]): HttpBenchConfig {
  const cfg = { ...DEFAULT_HTTP_CONFIG };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (min: number): number => intArg(a, args[++i], min);
    if (a === '--seconds') cfg.seconds = num(1);
    else if (a === '--connections') cfg.connections = num(1);
    else if (a === '--large-connections') cfg.largeConnections = num(1);
    else if (a === '--warmup') cfg.warmup = num(0);
    else if (a === '--rounds') cfg.rounds = num(1);
    else if (a === '--quick') Object.assign(cfg, { seconds: 3, warmup: 1 });
    else if (a === '--only') cfg.only = (args[++i] ?? '').split(',').filter((s) => s.length > 0);
    else {
      throw new UsageError(
        `http suite: unknown option ${a} (options: --seconds N (30), --connections N (64), --large-connections N (8), ` +
          `--warmup S (3), --rounds N (1), --only small,large,range,listing,mixed, --quick (3 s, 1 s warm-up))`,
      );
    }
  }
  return cfg;
}

function scenarios(cfg: HttpBenchConfig, ds: DataSet): Scenario[] {
  const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;
  const small = (r: () => number): Target => ({ path: pick(ds.small, r) });
  const large = (r: () => number): Target => ({ path: pick(ds.large, r) });
  const range = (r: () => number): Target => {
    const len = 65536 + Math.floor(r() * (2 ** 20 - 65536 + 1));
    const start = Math.floor(r() * (LARGE_SIZE - len + 1));
    return { path: pick(ds.large, r), headers: { range: `bytes=${start}-${start + len - 1}` } };
  };
  const listing = (): Target => ({ path: ds.list });
  const all: Scenario[] = [
    { name: 'small', about: `GET of ${ds.small.length} small files (1-16 KiB) at random`, connections: cfg.connections, maxPerSecond: 50_000, draw: small },
    { name: 'large', about: `GET of ${ds.large.length} files of 64 MiB at random`, connections: cfg.largeConnections, maxPerSecond: 100, draw: large },
    { name: 'range', about: 'single Range: bytes=a-b of 64 KiB-1 MiB at random offsets of the 64 MiB files', connections: cfg.connections, maxPerSecond: 50_000, draw: range },
    { name: 'listing', about: `GET of an HTML listing of ${LIST_ENTRIES} entries`, connections: cfg.connections, maxPerSecond: 50_000, draw: listing },
    {
      name: 'mixed',
      about: '80% small files, 12% ranges, 6% listings, 2% whole 64 MiB files',
      connections: cfg.connections,
      maxPerSecond: 50_000,
      draw: (r) => {
        const x = r();
        return x < 0.8 ? small(r) : x < 0.92 ? range(r) : x < 0.98 ? listing() : large(r);
      },
    },
  ];
  if (cfg.only === undefined) return all;
  for (const n of cfg.only) if (!all.some((s) => s.name === n)) throw new UsageError(`http suite: unknown scenario ${n} (${all.map((s) => s.name).join(', ')})`);
  return all.filter((s) => cfg.only!.includes(s.name));
}

interface Server {
  child: ChildProcess;
  url: string;
  /** The last 8 KiB of its stderr. */
  stderr: () => string;
}

async function start(cmd: string, args: readonly string[]): Promise<Server> {
  const { child, url } = await startServer(cmd, args);
  let tail = '';
  child.stderr!.on('data', (d: string) => {
    tail = (tail + d).slice(-8192);
  });
  return { child, url, stderr: () => tail };
}

/** Checks that a server answers the data set correctly; returns what is wrong (empty: nothing). */
async function preflight(base: string, prefix: string, ds: DataSet): Promise<string[]> {
  const wrong: string[] = [];
  const get = async (rel: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> => {
    const r = await fetch(`${base}${prefix}${rel}`, { headers });
    return { status: r.status, body: Buffer.from(await r.arrayBuffer()), headers: r.headers };
  };
  try {
    const want = readFileSync(path.join(ds.dir, ds.small[0]!));
    const s = await get(ds.small[0]!);
    if (s.status !== 200 || !s.body.equals(want)) wrong.push(`GET ${ds.small[0]}: ${s.status}, ${s.body.length} bytes (want 200, the file's ${want.length})`);
    const big = readFileSync(path.join(ds.dir, ds.large[0]!));
    const r = await get(ds.large[0]!, { range: 'bytes=1000000-1999999' });
    if (r.status !== 206 || !r.body.equals(big.subarray(1_000_000, 2_000_000))) wrong.push(`range 1000000-1999999 of ${ds.large[0]}: ${r.status}, ${r.body.length} bytes (want 206, 1000000 bytes)`);
    const l = await get(ds.large[1] ?? ds.large[0]!);
    if (l.status !== 200 || l.body.length !== LARGE_SIZE) wrong.push(`GET ${ds.large[1]}: ${l.status}, ${l.body.length} bytes (want 200, ${LARGE_SIZE})`);
    const d = await get(ds.list);
    const items = (d.body.toString('utf8').match(/<li>/g) ?? []).length;
    if (d.status !== 200 || items < LIST_ENTRIES) wrong.push(`GET ${ds.list}: ${d.status}, ${items} <li> items (want 200, ${LIST_ENTRIES} entries)`);
    if (d.headers.get('link') !== null) wrong.push(`GET ${ds.list}: paged (Link: ${d.headers.get('link')})`);
  } catch (e) {
    wrong.push(`request failed: ${String(e)}`);
  }
  return wrong;
}

function combine(rs: readonly LoadResult[]): LoadResult {
  const problems = new Map<string, number>();
  for (const r of rs) for (const [k, n] of r.problems) problems.set(k, (problems.get(k) ?? 0) + n);
  const sum = (f: (r: LoadResult) => number): number => rs.reduce((s, r) => s + f(r), 0);
  return {
    requests: sum((r) => r.requests),
    bytes: sum((r) => r.bytes),
    seconds: sum((r) => r.seconds),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    problems,
    peakRss: Math.max(...rs.map((r) => r.peakRss)),
    peakAnon: Math.max(...rs.map((r) => r.peakAnon)),
    peakMapped: Math.max(...rs.map((r) => r.peakMapped)),
    startRss: rs[0]?.startRss ?? 0,
    serverCpu: sum((r) => r.serverCpu),
    capped: rs.some((r) => r.capped),
  };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

interface Check {
  what: string;
  ok: boolean;
}

function scenarioTable(sc: Scenario, c: LoadResult, p: LoadResult, checks: Check[]): string {
  const rps = (r: LoadResult): number => r.requests / r.seconds;
  const mbs = (r: LoadResult): number => r.bytes / 1e6 / r.seconds;
  const ratio = (a: number, b: number): string => (b > 0 ? fmt.ratio(a / b) : '');
  const rows: string[][] = [];
  const row = (metric: string, cv: number, pv: number, show: (x: number) => string, target = '', ok?: boolean): void => {
    rows.push([metric, show(cv), show(pv), ratio(cv, pv), target, ok === undefined ? '' : verdict(ok)]);
  };
  const rpsOk = rps(c) >= SMALL_RPS_TARGET * rps(p);
  const mbsOk = mbs(c) >= LARGE_MBPS_TARGET * mbs(p);
  row('requests/s', rps(c), rps(p), (x) => fmt.rate(x).replace('/s', ' req/s'), sc.name === 'small' ? `>= ${SMALL_RPS_TARGET}x peer` : '', sc.name === 'small' ? rpsOk : undefined);
  row('MB/s (bodies + headers)', mbs(c), mbs(p), (x) => `${x.toFixed(1)} MB/s`, sc.name === 'large' ? `>= ${LARGE_MBPS_TARGET}x peer` : '', sc.name === 'large' ? mbsOk : undefined);
  row('latency p50', c.p50Ms, p.p50Ms, (x) => `${x} ms`);
  row('latency p99', c.p99Ms, p.p99Ms, (x) => `${x} ms`);
  const bad = (r: LoadResult): number => r.errors + r.non2xx;
  rows.push(['errors + non-2xx', fmt.int(bad(c)), fmt.int(bad(p)), '', 'cafs: 0', verdict(bad(c) === 0)]);
  row('server peak RSS', c.peakRss, p.peakRss, mb, 'cafs: < 300 MB', c.peakRss < RSS_LIMIT);
  row('  of it private (anon)', c.peakAnon, p.peakAnon, mb);
  row('  of it mapped files', c.peakMapped, p.peakMapped, mb);
  row('RSS when the run began', c.startRss, p.startRss, mb);
  row('server CPU (cores busy)', c.serverCpu / c.seconds, p.serverCpu / p.seconds, (x) => x.toFixed(2));
  if (sc.name === 'small') checks.push({ what: `small files: requests/s >= ${SMALL_RPS_TARGET}x peer`, ok: rpsOk });
  if (sc.name === 'large') checks.push({ what: `64 MiB files: MB/s >= ${LARGE_MBPS_TARGET}x peer`, ok: mbsOk });
  checks.push({ what: `${sc.name}: cafs peak RSS < 300 MB`, ok: c.peakRss < RSS_LIMIT });
  checks.push({ what: `${sc.name}: cafs zero errors`, ok: bad(c) === 0 });
  return formatGrid(
    [{ title: 'metric' }, { title: 'cafs serve', right: true }, { title: 'node:http peer', right: true }, { title: 'cafs/peer', right: true }, { title: 'target' }, { title: 'met?' }],
    rows,
  );
}

const describe = (m: Map<string, number>): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${k} x${fmt.int(n)}`).join('; ');

export async function runHttp(args: readonly string[]): Promise<void> {
  const cfg = parseHttpArgs(args);
  const started = performance.now();
  if (!existsSync(CAFS)) throw new Error(`${CAFS} is missing: run pnpm build first`);
  const tmpRoot = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const tmp = await nfs.mkdtemp(path.join(tmpRoot, 'cafs-bench-http-'));
  const servers: Partial<Record<Who, Server>> = {};
  const notes: string[] = [];
  const checks: Check[] = [];
  try {
    progress(`data set in ${tmp}`);
    const ds = await makeDataSet(path.join(tmp, 'files'));
    const repo = path.join(tmp, 'repo');
    progress('importing it into a LevelDB repository');
    await cafs('init', '--repo', repo);
    await cafs('import', ds.dir, '--repo', repo, '-m', 'bench');
    const peerScript = path.join(tmp, 'peer-server.mjs');
    await nfs.writeFile(peerScript, PEER_HTTP_SERVER);
    const launch: Record<Who, () => Promise<Server>> = {
      // The built command run as an executable, as users run `cafs` (its shebang sets node's flags).
      cafs: () => start(CAFS, ['serve', '--port', '0', '--repo', repo]),
      peer: () => start(process.execPath, [peerScript, ds.dir]),
    };
    for (const w of WHO) servers[w] = await launch[w]();
    // What a server holds before any request: for cafs, LevelDB's replay of the log the import
    // left (its memtable, up to the 64 MiB write buffer) is freed but stays in malloc's arenas.
    await new Promise((r) => setTimeout(r, 1000));
    for (const w of WHO) {
      const pid = servers[w]!.child.pid!;
      const kb = (f: 'VmRSS' | 'RssAnon' | 'RssFile' | 'RssShmem'): number => statusKb(pid, f);
      notes.push(`${w} server 1 s after it started, before any request: RSS ${mb(kb('VmRSS'))} (private ${mb(kb('RssAnon'))}, mapped ${mb(kb('RssFile') + kb('RssShmem'))})`);
    }
    const list = scenarios(cfg, ds);
    console.log(
      `http suite: \`${path.relative(process.cwd(), CAFS) || CAFS} serve --port 0 --repo <LevelDB repo>\` (GET /b/main/<path>) ` +
        `vs node:http + fs.createReadStream (GET /<path>, single ranges, listing by readdir + stat) serving the same files from ${tmpRoot} (tmpfs); ` +
        `data set: ${ds.small.length} small files (${(ds.smallBytes / 1e6).toFixed(1)} MB), ${ds.large.length} x 64 MiB, a ${LIST_ENTRIES}-entry directory.`,
    );
    console.log(
      `load: autocannon ${cfg.connections} connections (${cfg.largeConnections} for 64 MiB files), ${cfg.seconds} s per server per scenario` +
        `${cfg.rounds > 1 ? ` x ${cfg.rounds} rounds` : ''} after ${cfg.warmup} s of unrecorded warm-up each, alternating which server goes first; ` +
        `each server a child process, autocannon in this one. NOTE: this machine has ${os.cpus().length} cores, which the load generator shares with the server under test ` +
        `(the other server idles meanwhile), so both servers are measured under the same CPU contention, not at full speed.`,
    );
    for (const w of WHO) {
      const wrong = await preflight(servers[w]!.url, PREFIX[w], ds);
      for (const x of wrong) notes.push(`WARNING: ${w} answered wrongly before the load: ${x}`);
    }

    const live = (): number[] => WHO.map((w) => servers[w]?.child.pid).filter((p): p is number => p !== undefined);
    const busy = new BusyMeter(() => mark(live()), (m) => othersSince(m, live()));
    for (const [si, sc] of list.entries()) {
      const results: Record<Who, LoadResult[]> = { cafs: [], peer: [] };
      await busy.section(sc.name, async () => {
        const once = async (w: Who, seconds: number, seed: number): Promise<LoadResult> => {
          let s = servers[w]!;
          if (s.child.exitCode !== null || s.child.signalCode !== null) {
            notes.push(`WARNING: the ${w} server had exited (${s.child.exitCode ?? s.child.signalCode}) before ${sc.name}; restarted. Its stderr: ${s.stderr().trim().slice(-2000) || '(empty)'}`);
            s = servers[w] = await launch[w]();
          }
          const rand = prng(seed);
          const r = await runLoad({
            url: s.url,
            connections: sc.connections,
            seconds,
            maxRequests: sc.maxPerSecond * seconds,
            next: () => {
              const t = sc.draw(rand);
              return { ...t, path: PREFIX[w] + t.path };
            },
            pid: s.child.pid!,
          });
          if (s.child.exitCode !== null || s.child.signalCode !== null) {
            notes.push(`WARNING: the ${w} server exited (${s.child.exitCode ?? s.child.signalCode}) during ${sc.name}. Its stderr: ${s.stderr().trim().slice(-2000) || '(empty)'}`);
          }
          return r;
        };
        for (let round = 0; round < cfg.rounds; round++) {
          const order: Who[] = (si + round) % 2 === 0 ? ['cafs', 'peer'] : ['peer', 'cafs'];
          for (const w of order) {
            if (round === 0 && cfg.warmup > 0) {
              progress(`${sc.name}: ${w} warm-up (${cfg.warmup} s)`);
              const wu = await once(w, cfg.warmup, 1 + si);
              if (wu.errors + wu.non2xx > 0) notes.push(`${sc.name} warm-up: ${w} had ${wu.errors} errors, ${wu.non2xx} non-2xx: ${describe(wu.problems)}`);
            }
            progress(`${sc.name}: ${w}${cfg.rounds > 1 ? ` round ${round + 1}/${cfg.rounds}` : ''} (${cfg.seconds} s, ${sc.connections} connections)`);
            results[w].push(await once(w, cfg.seconds, 1000 + 100 * round + si));
          }
        }
      });
      const c = combine(results.cafs);
      const p = combine(results.peer);
      console.log('');
      console.log(`### ${sc.name}: ${sc.about}; ${sc.connections} connections, ${cfg.seconds} s${cfg.rounds > 1 ? ` x ${cfg.rounds}` : ''}`);
      console.log('');
      console.log(scenarioTable(sc, c, p, checks));
      for (const w of WHO) {
        const r = w === 'cafs' ? c : p;
        if (r.problems.size > 0) console.log(`- ${w} errors and non-2xx: ${describe(r.problems)}`);
        if (r.capped) console.log(`- ${w} reached the request-count bound (${fmt.int(sc.maxPerSecond * cfg.seconds)}) before ${cfg.seconds} s`);
      }
      const tail = servers.cafs!.stderr().trim();
      if (c.problems.size > 0 && tail.length > 0) console.log(`- cafs server stderr (tail): ${tail.slice(-1000)}`);
    }

    console.log('');
    const met = checks.filter((k) => k.ok).length;
    console.log(`targets: ${met} of ${checks.length} met`);
    for (const k of checks) console.log(`- ${verdict(k.ok)} ${k.what}`);
    busy.warn();
    const b = busy.note();
    if (b !== undefined) notes.push(b);
  } finally {
    for (const w of WHO) if (servers[w] !== undefined) await stopServer(servers[w]!.child);
    await nfs.rm(tmp, { recursive: true, force: true });
  }
  for (const n of notes) console.log(`- ${n}`);
  console.log(
    `- req/s = responses / seconds; MB/s = bytes received (autocannon counts headers and bodies of 2xx responses) / seconds; ` +
      `latency from autocannon's histogram; peak RSS = the server child's VmHWM (reset per run via /proc/PID/clear_refs) and VmRSS sampled every 100 ms, with the peaks of its private (RssAnon) and mapped file/tmpfs pages (RssFile + RssShmem: the node binary, and the LevelDB tables cafs mmaps, which the kernel may drop at will) among the samples; ` +
      `server CPU = its utime + stime over the run / seconds.`,
  );
  console.log(`http suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
