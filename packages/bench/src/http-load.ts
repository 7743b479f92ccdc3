// One bounded autocannon run against a server child, with the child's peak RSS and CPU time.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { procCpu } from './cli.js';

// autocannon 9 appends every body chunk to a string (`req.body += chunk`) for onResponse and
// expectBody, neither of which this suite uses: on 64 MiB bodies that decoding made the load
// generator the bottleneck (~45 MB/s on this machine). Drop the bodies; bytes are still counted.
{
  const queue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: { addBody: (data: unknown) => void } };
  queue.prototype.addBody = () => {};
}

/** What one request of a run asks for: a path (with query) and optional headers. */
export interface Target {
  path: string;
  headers?: Record<string, string>;
}

export interface LoadSpec {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  connections: number;
  seconds: number;
  /** The request-count bound: the run ends at `seconds` or after this many requests. */
  maxRequests: number;
  /** Called for each request; draws the next target. */
  next: () => Target;
  /** The server child whose memory and CPU are sampled. */
  pid: number;
}

export interface LoadResult {
  requests: number;
  bytes: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts (20 s without a response). */
  errors: number;
  non2xx: number;
  /** The kinds of errors and non-2xx statuses seen, with counts. */
  problems: Map<string, number>;
  /** Peak resident set of the server during the run, bytes. */
  peakRss: number;
  /** Of the samples: the peak of its private (anonymous) pages, and of mapped file and tmpfs pages (LevelDB mmaps its tables). */
  peakAnon: number;
  peakMapped: number;
  /** The server's RSS when the run began (what earlier runs and its start left resident). */
  startRss: number;
  /** CPU seconds the server used during the run. */
  serverCpu: number;
  capped: boolean;
}

export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon' | 'RssFile' | 'RssShmem'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Resets the process's VmHWM to its current RSS (`echo 5 > /proc/PID/clear_refs`, Linux 4.0+,
 * needs the right to ptrace it: root or the same user), so that VmHWM after a run is that run's
 * peak, not the lifetime's. Returns false when the kernel refused; then only the 100 ms samples count.
 */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const add = (m: Map<string, number>, k: string, n = 1): void => {
  m.set(k, (m.get(k) ?? 0) + n);
};

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const hwm = resetPeak(spec.pid);
  let peak = statusKb(spec.pid, 'VmRSS');
  let peakAnon = 0;
  let peakMapped = 0;
  const sample = (): void => {
    peak = Math.max(peak, statusKb(spec.pid, 'VmRSS'));
    peakAnon = Math.max(peakAnon, statusKb(spec.pid, 'RssAnon'));
    peakMapped = Math.max(peakMapped, statusKb(spec.pid, 'RssFile') + statusKb(spec.pid, 'RssShmem'));
  };
  const startRss = statusKb(spec.pid, 'VmRSS');
  sample();
  const sampler = setInterval(sample, 100);
  const cpu0 = procCpu(spec.pid);
  const problems = new Map<string, number>();
  const options: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    maxOverallRequests: spec.maxRequests,
    timeout: 20,
    requests: [
      {
        setupRequest: (req) => {
          const t = spec.next();
          return { ...req, path: t.path, headers: { ...req.headers, ...t.headers } };
        },
      },
    ],
  };
  let guard: NodeJS.Timeout | undefined;
  let result: autocannon.Result;
  try {
    result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(options, (err: unknown, res) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
      instance.on('reqError', (err: unknown) => add(problems, err instanceof Error ? err.message : String(err)));
      instance.on('response', (_client: autocannon.Client, status: number) => {
        if (status < 200 || status > 299) add(problems, `HTTP ${status}`);
      });
      // autocannon stops on its own at `duration`; this only guards against a server that hangs the run.
      guard = setTimeout(() => instance.stop(), (spec.seconds + 60) * 1000);
    });
  } finally {
    clearTimeout(guard);
    clearInterval(sampler);
  }
  peak = Math.max(peak, statusKb(spec.pid, 'VmRSS'), hwm ? statusKb(spec.pid, 'VmHWM') : 0);
  return {
    requests: result.requests.total,
    bytes: result.throughput.total,
    seconds: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    problems,
    peakRss: peak,
    peakAnon,
    peakMapped,
    startRss,
    serverCpu: procCpu(spec.pid) - cpu0,
    capped: result.requests.total >= spec.maxRequests,
  };
}

/** A small deterministic PRNG (mulberry32), so that both servers are asked the same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
