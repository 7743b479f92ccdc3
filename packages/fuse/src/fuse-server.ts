// The fuse-native server of a mount: libfuse's option string and the one operation fuse-native
// gets wrong (getxattr's buffer size).
import { FuseNative, type FuseServer } from './native.js';
import { LONG_TIMEOUT } from './mount-core.js';

export interface FuseServerOptions {
  readOnly: boolean;
  /** Let the kernel cache entries, attributes and pages for a day. */
  cache: boolean;
  allowOther: boolean;
  mkdir: boolean;
  debug: boolean;
  /** Extra libfuse options. */
  fuseOptions: readonly string[];
  /** Called once libfuse's loop has returned (the filesystem was unmounted, from here or outside). */
  onLoopEnd: () => void;
}

type GetXattr = (path: string, name: string, position: number, cb: (err: number, value?: Buffer) => void) => void;

/** The server, and how to let go of the mount once its loop has ended (see `release`). */
export type CafsFuseServer = FuseServer & {
  /**
   * Drops what the server holds of the mount (its operations, onLoopEnd). fuse-native's native
   * side keeps a reference to the server object for good (fuse_native_mount never deletes it):
   * without this, every unmounted mount kept its whole store alive.
   */
  release(): void;
};

export function createFuseServer(mountpoint: string, mountOps: { getxattr: GetXattr }, o: FuseServerOptions): CafsFuseServer {
  // Reached through these, not captured: `release` lets go of them.
  let ops: { getxattr: GetXattr } | undefined = mountOps;
  let onLoopEnd: (() => void) | undefined = o.onLoopEnd;
  // use_ino: st_ino is ours (the same for every name of a hard-linked inode), not libfuse's
  // node number (one per name).
  const extra = ['big_writes', 'fsname=cafs', 'subtype=cafs', 'default_permissions', 'use_ino'];
  if (o.readOnly) extra.push('ro');
  if (o.allowOther) extra.push('allow_other');
  if (o.cache) extra.push(`negative_timeout=${LONG_TIMEOUT}`);
  // A read-only mount made to `checkout`: the page cache is per path, so a file opened before
  // a checkout would read the new tree's pages; direct_io keeps every read ours.
  else if (o.readOnly) extra.push('direct_io');
  extra.push(...o.fuseOptions);
  const Base = FuseNative as new (mnt: string, ops: object, opts: object) => object;
  class CafsFuse extends Base {
    _fuseOptions(): string {
      const base: string = (FuseNative.prototype._fuseOptions as () => string).call(this);
      return base ? `${base},${extra.join(',')}` : `-o${extra.join(',')}`;
    }
    // fuse-native's own getxattr ignores the caller's buffer size (no ERANGE).
    _op_getxattr(signal: (n: number, b: unknown) => void, path: string, name: string, valueBuf: Buffer, position: number): void {
      if (ops === undefined) return signal(FuseNative.ENOTCONN, valueBuf.buffer);
      ops.getxattr(path, name, position, (err: number, value?: Buffer) => {
        if (err) return signal(err, valueBuf.buffer);
        if (!value) return signal(FuseNative.ENODATA, valueBuf.buffer);
        if (valueBuf.length === 0) return signal(value.length, valueBuf.buffer);
        if (value.length > valueBuf.length) return signal(FuseNative.ERANGE, valueBuf.buffer);
        value.copy(valueBuf);
        return signal(value.length, valueBuf.buffer);
      });
    }
  }
  const server = new CafsFuse(mountpoint, mountOps, {
    timeout: false,
    mkdir: o.mkdir,
    debug: o.debug,
    kernelCache: o.cache,
    entryTimeout: o.cache ? LONG_TIMEOUT : undefined,
    attrTimeout: o.cache ? LONG_TIMEOUT : undefined,
    onLoopEnd: () => onLoopEnd?.(),
  }) as unknown as CafsFuseServer & { ops: object };
  server.release = () => {
    ops = undefined;
    onLoopEnd = undefined;
    server.ops = {};
  };
  return server;
}
