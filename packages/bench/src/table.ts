// Small timing and table helpers shared by the suites. No timing assertions anywhere: a bench
// reports figures, it never fails because of them.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** A bad command line: main prints the message and exits with code 2. */
export class UsageError extends Error {}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** Runs a full GC when node was started with --expose-gc (the root `bench` script does). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Milliseconds taken by `fn`. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** What a contender that timed itself returns (one running in a worker thread, say). */
export interface SelfTimed {
  selfTimedMs: number;
}

function isSelfTimed(x: unknown): x is SelfTimed {
  return typeof x === 'object' && x !== null && typeof (x as SelfTimed).selfTimedMs === 'number';
}

/**
 * Runs the contenders side by side: `warmup` unrecorded rounds, then `reps` recorded rounds.
 * Each round runs every contender once, starting from a different one each round so that none
 * always goes first (GC debt and cache state are shared out). Returns each one's times in ms:
 * the wall time of each call, or the time a SelfTimed result reports.
 */
export async function interleaved(
  contenders: Record<string, (round: number) => Promise<unknown>>,
  reps: number,
  warmup = 1,
): Promise<Record<string, number[]>> {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + reps; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!;
      gc();
      const t0 = performance.now();
      const out = await contenders[name]!(round);
      const ms = isSelfTimed(out) ? out.selfTimedMs : performance.now() - t0;
      if (round >= warmup) times[name]!.push(ms);
    }
  }
  return times;
}

/** A reading of the machine's and this process's CPU time, to tell how busy other processes were. */
export interface CpuMark {
  wallMs: number;
  /** Busy CPU time of the whole machine (all cores) in seconds, from /proc/stat. */
  machineBusy: number;
  /** CPU time of this process (all threads) in seconds. */
  own: number;
  /** Time the hypervisor ran something else while this machine's CPUs wanted to run (steal), seconds. */
  steal: number;
}

const USER_HZ = 100; // /proc/stat ticks per second on Linux

export function cpuMark(): CpuMark | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!; // user nice system irq softirq steal
    const u = process.cpuUsage();
    return { wallMs: performance.now(), machineBusy: busy / USER_HZ, own: (u.user + u.system) / 1e6, steal: f[7]! / USER_HZ };
  } catch {
    return undefined;
  }
}

/** Share of the machine's CPU capacity that other processes used since `from` (undefined off Linux). */
export function othersShare(from: CpuMark | undefined): number | undefined {
  const to = cpuMark();
  if (from === undefined || to === undefined) return undefined;
  const capacity = ((to.wallMs - from.wallMs) / 1000) * os.cpus().length;
  const others = to.machineBusy - from.machineBusy - (to.own - from.own);
  return capacity > 0 ? Math.min(1, Math.max(0, others / capacity)) : undefined;
}

/**
 * Share of the machine's CPU capacity the hypervisor gave to others since `from` (steal time:
 * on a shared virtual machine it slows everything, latency-bound work most).
 */
export function stealShare(from: CpuMark | undefined): number | undefined {
  const to = cpuMark();
  if (from === undefined || to === undefined) return undefined;
  const capacity = ((to.wallMs - from.wallMs) / 1000) * os.cpus().length;
  return capacity > 0 ? Math.min(1, Math.max(0, (to.steal - from.steal) / capacity)) : undefined;
}

/**
 * How much CPU other processes took during each measured part of a suite: a busy machine skews
 * every figure, so a suite notes the share per part and warns when it passed 10%.
 */
export class BusyMeter<M = CpuMark | undefined> {
  private readonly parts: string[] = [];
  private worst = 0;

  constructor(
    private readonly mark: () => M = cpuMark as unknown as () => M,
    private readonly share: (from: M) => number | undefined = othersShare as unknown as (from: M) => number | undefined,
  ) {}

  async section<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const m = this.mark();
    const out = await fn();
    const s = this.share(m);
    if (s !== undefined) {
      this.parts.push(`${name} ${(100 * s).toFixed(0)}%`);
      this.worst = Math.max(this.worst, s);
    }
    return out;
  }

  /** The note listing each part's share, if any was measured. */
  note(): string | undefined {
    return this.parts.length > 0 ? `CPU share other processes took during each part (of ${os.cpus().length} cores): ${this.parts.join(', ')}` : undefined;
  }

  /** Prints a warning when other processes took more than 10% during some part. */
  warn(): void {
    if (this.worst > 0.1) {
      console.log(`WARNING: other processes took up to ${(100 * this.worst).toFixed(0)}% of the CPU during this run (see the last note); the figures are skewed.`);
    }
  }
}

export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}

// ---- formatting ----

function sig(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export const fmt = {
  /** A per-operation time given in µs. */
  us: (us: number): string => `${sig(us)} µs/op`,
  ms: (ms: number): string => (ms >= 10_000 ? `${sig(ms / 1000)} s` : `${sig(ms)} ms`),
  /** Items per second. */
  rate: (perSec: number): string =>
    perSec >= 1e6 ? `${sig(perSec / 1e6)} M/s` : perSec >= 1e3 ? `${sig(perSec / 1e3)} k/s` : `${sig(perSec)} /s`,
  ratio: (r: number): string => `${sig(r)}x`,
  int: (n: number): string => n.toLocaleString('en-US'),
};

export interface Row {
  operation: string;
  cafs: string;
  peer?: string | undefined;
  peerFigure?: string | undefined;
  /** cafs cost / peer cost: above 1 means cafs is slower. */
  ratio?: number | undefined;
  target?: string | undefined;
  met?: boolean | undefined;
}

const COLUMNS: { title: string; get: (r: Row) => string; right?: boolean }[] = [
  { title: 'operation', get: (r) => r.operation },
  { title: 'cafs', get: (r) => r.cafs, right: true },
  { title: 'peer', get: (r) => r.peer ?? '' },
  { title: 'peer figure', get: (r) => r.peerFigure ?? '', right: true },
  { title: 'ratio', get: (r) => (r.ratio === undefined ? '' : fmt.ratio(r.ratio)), right: true },
  { title: 'target', get: (r) => r.target ?? '' },
  { title: 'met?', get: (r) => (r.met === undefined ? '' : r.met ? 'yes' : 'NO') },
];

/** An aligned table (valid Markdown, so it can be pasted into an issue as is). */
export function formatTable(rows: readonly Row[]): string {
  return formatGrid(COLUMNS, rows.map((r) => COLUMNS.map((c) => c.get(r))));
}

/** An aligned Markdown table of any columns; `right` columns are right-aligned. */
export function formatGrid(columns: readonly { title: string; right?: boolean }[], cells: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]): string =>
    `| ${columns.map((c, i) => (c.right ? (vals[i] ?? '').padStart(widths[i]!) : (vals[i] ?? '').padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (columns[i]!.right ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(columns.map((c) => c.title)), sep, ...cells.map(line)].join('\n');
}

/** The integer value of option `flag` (at least `min`), for the suites' option parsers. */
export function intArg(flag: string, text: string | undefined, min: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${flag} needs an integer >= ${min}`);
  return v;
}
