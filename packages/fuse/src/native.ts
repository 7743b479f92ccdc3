// The seam to fuse-native (patched: see patches/fuse-native@2.2.6.patch and docs/fuse.md).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// fuse-native ships no types: it is used through this narrow, untyped seam.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const FuseNative: any = require('fuse-native');

/** errno numbers (negative, as FUSE wants them) fuse-native exposes as `Fuse.ENOENT` etc. */
export const errno = (code: string): number => {
  const n = FuseNative[code];
  return typeof n === 'number' ? n : FuseNative.EIO;
};

export interface FuseServer {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  /** The caller of the request being dispatched (patched fuse-native only; null otherwise). */
  context(): Caller | null;
  /** Drops attributes kept natively for coming getattrs (patched fuse-native only). */
  forgetHints?(): void;
  /**
   * Whether flush (close) is answered natively, without a round trip to JS (patched fuse-native
   * only; false when the build cannot).
   */
  nativeFlush?(on: boolean): boolean;
}

/** Who made a request: new files and directories are theirs. */
export interface Caller {
  uid: number;
  gid: number;
}

/** A time as the patched fuse-native hands it to utimens (see patches/fuse-native@2.2.6.patch). */
export interface Timespec {
  sec: number;
  nsec: number;
}

/**
 * A time utimens asks for (access or modification), in nanoseconds; undefined for UTIME_OMIT;
 * `nowNs` for UTIME_NOW (one value for both times of a call, as the kernel's own `touch` gives).
 * An unpatched fuse-native passes milliseconds.
 */
export function timeNs(t: Timespec | number, nowNs: bigint = BigInt(Date.now()) * 1_000_000n): bigint | undefined {
  if (typeof t === 'number') return t < 1e7 ? nowNs : BigInt(Math.round(t)) * 1_000_000n;
  if (t.nsec === FuseNative.UTIME_OMIT) return undefined;
  if (t.nsec === FuseNative.UTIME_NOW) return nowNs;
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

export function toErrno(err: unknown): number {
  if (process.env.CAFS_FUSE_DEBUG) console.error("fuse error", err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code === 'ERR_CONFLICT') return FuseNative.EIO;
    const n = FuseNative[code];
    if (typeof n === 'number') return n;
  }
  return FuseNative.EIO;
}

/**
 * Every operation answers exactly once: a synchronous throw in a handler becomes EIO instead of
 * a request the kernel waits on forever.
 */
export function guard<T extends Record<string, (...args: never[]) => void>>(ops: T): T {
  const out: Record<string, (...args: unknown[]) => void> = {};
  for (const [name, fn] of Object.entries(ops)) {
    out[name] = (...args: unknown[]) => {
      const cb = args[args.length - 1] as (err: number) => void;
      let answered = false;
      args[args.length - 1] = (...r: unknown[]) => {
        if (answered) return;
        answered = true;
        (cb as (...a: unknown[]) => void)(...r);
      };
      try {
        (fn as (...a: unknown[]) => void)(...args);
      } catch (err) {
        if (process.env.CAFS_FUSE_DEBUG) console.error('fuse handler threw', name, err);
        if (!answered) {
          answered = true;
          cb(FuseNative.EIO);
        }
      }
    };
  }
  return out as unknown as T;
}

