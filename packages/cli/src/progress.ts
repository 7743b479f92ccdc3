// Progress bars for long commands: drawn on stderr when it is a terminal and --json is not given.
import type { SyncProgress } from '@cafs/repo';

export interface Bar {
  /** Whether a bar is drawn (when not, updates cost nothing). */
  readonly active: boolean;
  /** `done` of `total`, and the values of the format's other {tokens}. */
  update(done: number, total: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

const NO_BAR: Bar = { active: false, update: () => {}, stop: () => {} };

/** The decision: a bar only on a terminal, and never under --json (whose reader is a program). */
export const wantsBar = (stream: { isTTY?: boolean | undefined }, json: boolean | undefined): boolean => stream.isTTY === true && json !== true;

/**
 * A bar of `format` (cli-progress tokens: {bar} {value} {total}, and those of `payload`, which
 * gives their first values), or one that draws nothing when `wantsBar` says no.
 */
export async function progressBar(format: string, options: { json?: boolean | undefined; payload?: Record<string, string | number> } = {}): Promise<Bar> {
  if (!wantsBar(process.stderr, options.json)) return NO_BAR;
  const { default: progress } = await import('cli-progress');
  const bar = new progress.SingleBar({ format, stream: process.stderr, hideCursor: true }, progress.Presets.shades_classic);
  bar.start(1, 0, options.payload ?? {});
  let stopped = false;
  return {
    active: true,
    update: (done, total, payload) => {
      bar.setTotal(Math.max(1, total));
      bar.update(done, payload ?? {});
    },
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

/** The bar of fetch, push and clone: blobs sent and megabytes. */
export async function syncBar(what: string, json: boolean): Promise<{ update(p: SyncProgress): void; stop(): void }> {
  const bar = await progressBar(`${what} [{bar}] {value}/{total} blobs, {mb} MB`, { json, payload: { mb: '0.0' } });
  return { update: (p) => bar.update(p.blobsSent, p.blobsTotal, { mb: mb(p.bytesSent) }), stop: () => bar.stop() };
}

/** Bytes as megabytes with one decimal, for a bar's {mb}. */
export const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
