// A cafs root or a repository branch mounted as a Linux filesystem through fuse-native
// (libfuse 2.9, high-level path API). Every mutation yields a new root; on a branch mount the
// branch head advances by commits as the commit policy says (commit-policy.ts).
import { EventEmitter } from 'node:events';
import { mkdir as fsMkdir } from 'node:fs/promises';
import { resolve as resolvePath, basename, posix } from 'node:path';
import { Fs, FsError, type Batch, type FileReader, type Stats } from '@cafs/fs';
import { bytesToHex, equalBytes, type Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import { installExitHook, installSignalHandlers, live } from './lifecycle.js';
import { FuseNative, guard, mtimeNs, toErrno, type Caller, type FuseServer, type Timespec } from './native.js';
import { BranchCommits, type CommitPolicy, type Committed } from './commit-policy.js';
import { clearStaleMount, run } from './stale.js';
import { SlabPool, WriteRun } from './write-run.js';

const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const HIDDEN_PREFIX = '.fuse_hidden';
const ROOT_XATTR = 'user.cafs.root';
/** Set on the mount's root directory (the value is the message): commit now. */
const COMMIT_XATTR = 'user.cafs.commit';
const LONG_TIMEOUT = 86400;

export type MountSource = Hash | { repo: Repo; branch: string };

export interface MountOptions {
  /** The filesystem holding a root-hash source (default: `repo.fs` when `repo` is given). */
  fs?: Fs | undefined;
  repo?: Repo | undefined;
  /** A root-hash source is read-only unless this is true (then an anonymous working head). */
  writable?: boolean | undefined;
  /** Create the mountpoint if missing (default true). */
  mkdir?: boolean | undefined;
  /** Roots kept in `mount.history` (default 1000). */
  historyLimit?: number | undefined;
  /** Extra libfuse options appended to the option string. */
  fuseOptions?: string[] | undefined;
  /** Install SIGINT/SIGTERM handlers that unmount before exiting (default true). */
  handleSignals?: boolean | undefined;
  /**
   * Let users other than the one who mounted use the mount (libfuse `allow_other`; as root, or
   * with `user_allow_other` in /etc/fuse.conf). The kernel still checks modes and owners.
   */
  allowOther?: boolean | undefined;
  /**
   * Collect garbage as the mount goes (needs `repo`): after every `everyRoots` new roots (default
   * 5000), an incremental `repo.gc` keeping `keepLast` commits of each branch (and/or those newer
   * than `keepNewerThan`), the mount's current root and every root an open file still reads.
   * For a long-lived RAM disk, whose store otherwise keeps every root it ever made. It runs in
   * the mount's request queue (requests wait for it; incremental collections are short).
   * Roots in `mount.history` older than what is kept become unreadable.
   */
  gc?: { keepLast?: number | undefined; keepNewerThan?: Date | undefined; everyRoots?: number | undefined; graceMs?: number | undefined } | undefined;
  /**
   * When a branch mount's roots become commits (see commit-policy.ts): by default after 2 s
   * without a change, at least once a minute under steady change, on fsync of the mount's root
   * directory, when `user.cafs.commit` is set on it, on `commit()` and at unmount. `{ each: true }`
   * commits every change.
   */
  commits?: CommitPolicy | undefined;
  /** libfuse `debug`. */
  debug?: boolean | undefined;
  /**
   * Let the kernel cache entries, attributes and pages for a day (default: for read-only
   * mounts). Turn off for a read-only mount that will `checkout` other roots (it then also
   * uses direct_io, so that files opened before a checkout keep reading their tree).
   */
  cache?: boolean | undefined;
}

/** What `mount.events` emits (each listener runs later, on its own turn: it never stalls a request). */
export interface MountEvents {
  created: [{ path: string }];
  opened: [{ path: string; fd: number; flags: number }];
  written: [{ path: string; root: Hash }];
  closed: [{ path: string; fd: number }];
  unlinked: [{ path: string }];
  renamed: [{ from: string; to: string }];
  root: [{ root: Hash; what: string }];
  /** A collection the `gc` option ran (or why it failed: the mount goes on). */
  collected: [{ blobsDeleted: number; bytesDeleted: number; durationMs: number } | { error: Error }];
  /** A commit of the branch (`merged`: someone else had moved it; both sides are kept). */
  committed: [{ commit: Hash; root: Hash; message: string; merged: boolean; conflicts: string[] }];
  /** A change (or a file's writes) whose root could not be made after its request was answered. */
  writeFailed: [{ path: string; error: Error }];
  unmounted: [];
}

interface Handle {
  append: boolean;
  writable: boolean;
  /** The root and checkout epoch when opened: after a checkout, reads keep this root. */
  root: Hash;
  epoch: number;
  /** The file as last read through this handle (reopened when the root changes). */
  reader?: { root: Hash; path: string; file: FileReader } | undefined;
  /** Writes gathered through this handle that could not become a root after close() returned. */
  writeError?: unknown;
}

/** A file unlinked (or replaced by rename) while open: libfuse renamed it to a hidden name. */
interface Detached {
  root: Hash;
  path: string;
}

interface Pending {
  path: string;
  fd: number;
  batch: Batch;
  /** The unmade root this batch was forked from (see RootJob.after). */
  after: RootJob | undefined;
  /** Sequential writes not yet handed to the batch (see write-run.ts). */
  run: WriteRun | undefined;
  /** The run being written into the batch while the next one gathers (at most one). */
  writing: Promise<void> | undefined;
  /** Why a run could not be written: reported by the next write, fsync or close. */
  error: unknown;
}

/**
 * A change that was answered and whose root is not made yet. Each is made in order by
 * `makeRoots`, between requests; the next change is applied to a fork of the newest one's batch.
 */
interface RootJob {
  batch: Batch;
  what: string;
  /** The path a failure is reported for. */
  path: string;
  /** The job whose batch this one's was forked from: if it fails, this one fails too. */
  after: RootJob | undefined;
  /** Gathered writes through this descriptor: a failure is also reported by its next fsync or close. */
  fd: number | undefined;
  /** Why the root could not be made or committed. */
  error: unknown;
  /** Resolves once the root is made (or has failed). */
  done: Promise<void>;
  finish: () => void;
}

/** Answered changes whose roots are not made yet, at most: beyond, requests wait for the oldest. */
const MAX_UNMADE_ROOTS = 8;

/** A change's result: the entry's attributes, and its directory's when it made a new entry. */
interface Changed {
  stat: Stats;
  parent: { path: string; stat: Stats } | undefined;
}

/** A turn of the event loop: answers queued with process.nextTick go out, new requests come in. */
const nextTurn = (): Promise<void> => new Promise((go) => setImmediate(go));

/** Paths whose kernel page cache is known to match the tree (bounded; cleared when full). */
const CACHEABLE_PATHS = 100_000;

/** Mounts `source` at `mountpoint`; resolves once the kernel has the filesystem. */
export async function mount(source: MountSource, mountpoint: string, options: MountOptions = {}): Promise<CafsMount> {
  const m = new CafsMount(source, resolvePath(mountpoint), options);
  await m.start();
  return m;
}

/** A live mount. `root` is the current root; every mutation through the mount makes a new one. */
export class CafsMount {
  readonly mountpoint: string;
  readonly fs: Fs;
  readonly readOnly: boolean;
  readonly repo: Repo | undefined;
  readonly branch: string | undefined;
  /** Roots this mount produced, oldest first (about the last `historyLimit`; trimmed in steps). */
  readonly history: Hash[] = [];
  /** Typed events; see MountEvents. */
  readonly events = new EventEmitter<MountEvents>();
  private epoch = 0;
  /**
   * The epoch at which the kernel's page cache of a path was last known to match the tree: an
   * open keeps that cache (keep_cache) only if nothing but this mount's own requests changed the
   * file since. Checkouts, a branch moved by someone else and failed writes start a new epoch.
   */
  private cacheable = new Map<string, number>();
  private rootsSinceGc = 0;
  private readonly slabs = new SlabPool();
  private current!: Hash;
  private commits: BranchCommits | undefined;
  private fuse: FuseServer | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Operations queued or running in `queue`. */
  private busy = 0;
  private pending: Pending | undefined;
  /**
   * Answered changes whose roots are being made, oldest first (write-behind): requests do not
   * wait for them; they read and change the newest one's batch (see `batchForChange`).
   */
  private jobs: RootJob[] = [];
  private makingRoots = false;
  private handles = new Map<number, Handle>();
  /**
   * Handles holding a write failure their next flush, fsync or close must report. While there
   * are none, flush has nothing to say (gathered writes become a root at release or the next
   * request) and the patched fuse-native answers it without a round trip to JS.
   */
  private unreported = 0;
  private nextFd = 1;
  private detached = new Map<string, Detached>();
  private mounted = false;
  private unmounting: Promise<void> | undefined;

  constructor(
    private readonly source: MountSource,
    mountpoint: string,
    private readonly options: MountOptions,
  ) {
    this.mountpoint = mountpoint;
    if (source instanceof Uint8Array) {
      const fs = options.fs ?? options.repo?.fs;
      if (fs === undefined) throw new TypeError('mounting a root hash needs options.fs or options.repo');
      this.fs = fs;
      this.readOnly = !options.writable;
      this.repo = options.repo;
      this.branch = undefined;
      this.current = source;
    } else {
      this.fs = source.repo.fs;
      this.readOnly = false;
      this.repo = source.repo;
      this.branch = source.branch;
    }
  }

  /** The current root (writes still being gathered are not in it: see `currentRoot()`). */
  get root(): Hash {
    return this.current;
  }

  /** The current root after any gathered writes are applied. */
  currentRoot(): Promise<Hash> {
    return this.serial(async () => {
      await this.settle();
      return this.current;
    });
  }

  /**
   * Switches the mount to another root (a hash, or a ref of `repo`) atomically: new lookups
   * see it at once (within the kernel's cache timeouts: mount with `cache: false` to checkout
   * on a read-only mount); files already open keep reading what they opened. On a branch
   * mount the root is committed on the branch (compare-and-swap), like any other change.
   */
  checkout(ref: Hash | string): Promise<Hash> {
    return this.serial(async () => {
      await this.settle();
      let root: Hash;
      if (typeof ref === 'string') {
        if (this.repo === undefined) throw new TypeError('checkout of a named ref needs options.repo');
        root = (await this.repo.resolve(ref)).root;
      } else root = ref;
      this.newEpoch();
      if (this.branch !== undefined) {
        const what = `checkout ${typeof ref === 'string' ? ref : bytesToHex(ref)}`;
        // Changes not yet committed are committed first: the checkout must not drop them from history.
        if (!this.commits!.eachChange) await this.commitNow();
        await this.advance(root, what);
        if (!this.commits!.eachChange) await this.commitNow(what);
      } else {
        this.current = root;
        this.remember(root);
        this.emit('root', { root, what: 'checkout' });
      }
      return this.current;
    });
  }

  private emit<K extends keyof MountEvents>(name: K, ...args: MountEvents[K]): void {
    if (this.events.listenerCount(name) === 0) return;
    setImmediate(() => {
      try {
        (this.events.emit as (n: K, ...a: MountEvents[K]) => boolean)(name, ...args);
      } catch {
        // A listener's error is its own.
      }
    });
  }

  /** @internal */
  async start(): Promise<void> {
    if (!(this.source instanceof Uint8Array)) {
      const { repo, branch } = this.source;
      const head = await repo.head(branch);
      this.current = (await repo.readCommit(head)).root;
      this.commits = new BranchCommits(repo, branch, head, this.current, this.options.commits ?? {}, () => {
        void this.serial(() => this.commitNow()).catch(() => undefined);
      });
    }
    this.remember(this.current);
    await clearStaleMount(this.mountpoint);
    if (this.options.mkdir !== false) await fsMkdir(this.mountpoint, { recursive: true }).catch(() => undefined);

    const extra = ['big_writes', 'fsname=cafs', 'subtype=cafs', 'default_permissions'];
    const cache = this.options.cache ?? this.readOnly;
    if (this.readOnly) extra.push('ro');
    if (this.options.allowOther) extra.push('allow_other');
    if (cache) extra.push(`negative_timeout=${LONG_TIMEOUT}`);
    // A read-only mount made to `checkout`: the page cache is per path, so a file opened before
    // a checkout would read the new tree's pages; direct_io keeps every read ours.
    else if (this.readOnly) extra.push('direct_io');
    extra.push(...(this.options.fuseOptions ?? []));
    const ops = guard(this.operations());
    const Base = FuseNative as new (mnt: string, ops: object, opts: object) => object;
    class CafsFuse extends Base {
      _fuseOptions(): string {
        const base: string = (FuseNative.prototype._fuseOptions as () => string).call(this);
        return base ? `${base},${extra.join(',')}` : `-o${extra.join(',')}`;
      }
      // fuse-native's own getxattr ignores the caller's buffer size (no ERANGE).
      _op_getxattr(signal: (n: number, b: unknown) => void, path: string, name: string, valueBuf: Buffer, position: number): void {
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
    const fuse = new CafsFuse(this.mountpoint, ops, {
      timeout: false,
      mkdir: this.options.mkdir !== false,
      debug: this.options.debug ?? false,
      kernelCache: cache,
      entryTimeout: cache ? LONG_TIMEOUT : undefined,
      attrTimeout: cache ? LONG_TIMEOUT : undefined,
      // The patched fuse-native calls this once libfuse's loop has returned: the filesystem was
      // unmounted, by unmount() or from outside (`fusermount -u`, `umount`). Either way the
      // mount ends as unmount() ends it: the last writes become a root (and a commit on a branch
      // mount), then 'unmounted'. Without it, an unmount from outside left this process holding
      // the store with nothing to serve.
      onLoopEnd: () => void this.unmount(),
    }) as unknown as NonNullable<CafsMount['fuse']>;
    this.fuse = fuse;
    await new Promise<void>((done, fail) => fuse.mount((err) => (err ? fail(err) : done())));
    this.mounted = true;
    fuse.nativeFlush?.(this.unreported === 0);
    live.add(this);
    installExitHook();
    if (this.options.handleSignals !== false) installSignalHandlers();
  }

  /**
   * Applies gathered writes, unmounts (lazily, as `fusermount -uz`), and forgets the mount. Runs
   * by itself when the filesystem is unmounted from outside (`fusermount -u DIR`, `umount DIR`).
   */
  unmount(): Promise<void> {
    this.unmounting ??= (async () => {
      try {
        await this.serial(() => this.settle());
      } catch {
        // The last writes failed; unmount anyway, never leave a hung mount.
      }
      try {
        await this.serial(() => this.commitNow());
      } catch {
        // Reported by the writeFailed event; the roots stay in the store, the mount must end.
      }
      this.commits?.dispose();
      live.delete(this);
      if (!this.mounted || this.fuse === undefined) return;
      const fuse = this.fuse;
      await new Promise<void>((done) => {
        fuse.unmount((err) => {
          if (err) void run('fusermount', ['-uz', this.mountpoint]).then(() => done());
          else done();
        });
      });
      this.mounted = false;
      this.emit('unmounted');
    })();
    return this.unmounting;
  }

  // Internals.

  private serial<T>(op: () => Promise<T>): Promise<T> {
    this.busy++;
    const r = this.queue.then(op, op);
    this.queue = r.then(
      () => void this.busy--,
      () => void this.busy--,
    );
    return r;
  }

  /** Nothing queued or running, no gathered writes and no root to make: reads go straight to the tree. */
  private get idle(): boolean {
    return this.busy === 0 && this.pending === undefined && this.jobs.length === 0;
  }

  /**
   * The tree changed other than by this mount's answered requests (a checkout, the branch moved
   * by someone else, a change that could not become a root): caches keyed to the old state go.
   */
  private newEpoch(): void {
    this.epoch++;
    this.fuse?.forgetHints?.();
  }

  private remember(root: Hash): void {
    this.history.push(root);
    const limit = this.options.historyLimit ?? 1000;
    // Trim in steps, not on every root: splicing the front each time costs O(limit) per change.
    if (this.history.length >= limit + Math.max(16, limit >> 3)) this.history.splice(0, this.history.length - limit);
  }

  /**
   * Makes `root` the mount's root. On a branch committing each change, compare-and-swap the
   * head first; otherwise the change waits for the commit policy.
   */
  private async advance(root: Hash, what: string): Promise<void> {
    if (root === this.current || equalBytes(root, this.current)) return;
    const commits = this.commits;
    if (commits?.eachChange) {
      try {
        this.announce(await commits.commit(root, what));
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_CONFLICT' && this.repo !== undefined && this.branch !== undefined) {
          // Someone else moved the branch: follow it; this change is refused (EIO).
          const head = await this.repo.head(this.branch);
          this.current = (await this.repo.readCommit(head)).root;
          commits.follow(head, this.current);
          this.remember(this.current);
          this.newEpoch();
        }
        throw err;
      }
    } else commits?.noteChange(what);
    this.current = root;
    this.remember(root);
    this.emit('root', { root, what });
    const gc = this.options.gc;
    if (gc !== undefined && ++this.rootsSinceGc >= (gc.everyRoots ?? 5000)) {
      this.rootsSinceGc = 0;
      // Queued behind this change: it runs between requests, with no gathered writes in flight.
      void this.serial(() => this.collect()).catch(() => undefined);
    }
  }

  /**
   * Commits the mount's current root on its branch now (nothing when it is committed already;
   * gathered writes are applied first). Resolves to the branch's head.
   */
  commit(message?: string): Promise<Hash | undefined> {
    if (this.commits === undefined) return Promise.reject(new FsError('EINVAL', 'commit: not a branch mount'));
    return this.serial(async () => {
      await this.settle();
      await this.commitNow(message);
      return this.commits?.head;
    });
  }

  /** The commit policy's commit of the current root. Runs inside the queue. */
  private async commitNow(message?: string): Promise<void> {
    const commits = this.commits;
    if (commits === undefined) return;
    let r: Committed;
    try {
      r = await commits.commit(this.current, message);
    } catch (err) {
      this.failedBehind('/', err);
      throw err;
    }
    if (!equalBytes(r.root, this.current)) {
      // Merged with what someone else committed, or followed their commit: the mount shows it.
      this.current = r.root;
      this.remember(r.root);
      this.newEpoch();
      this.emit('root', { root: r.root, what: 'merge' });
    }
    if (r.made) this.announce(r);
  }

  private announce(r: Committed): void {
    this.emit('committed', { commit: r.head, root: r.root, message: r.message, merged: r.merged, conflicts: r.conflicts.map((c) => c.path) });
  }

  /** One collection for the `gc` option; see MountOptions.gc. */
  private async collect(): Promise<void> {
    const gc = this.options.gc;
    if (gc === undefined || this.repo === undefined) return;
    await this.settle();
    const pins: Hash[] = [this.current];
    for (const d of this.detached.values()) pins.push(d.root);
    // Files opened before a checkout read the root they opened.
    for (const h of this.handles.values()) if (h.epoch !== this.epoch && !h.writable) pins.push(h.root);
    try {
      const r = await this.repo.gc({ keepLast: gc.keepLast, keepNewerThan: gc.keepNewerThan, graceMs: gc.graceMs, pins });
      this.emit('collected', { blobsDeleted: r.blobsDeleted, bytesDeleted: r.bytesDeleted, durationMs: r.durationMs });
    } catch (err) {
      this.emit('collected', { error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** Applies the gathered writes and waits until every answered change is a root. Runs inside the queue. */
  private async settle(): Promise<void> {
    await this.seal();
    await this.rootsMade();
  }

  /** Resolves once every change answered so far is a root (or has failed). */
  private rootsMade(): Promise<void> {
    return this.jobs[this.jobs.length - 1]?.done ?? Promise.resolve();
  }

  /** Hands the gathered writes, if any, to the root maker. Runs inside the queue. */
  private async seal(): Promise<void> {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    await this.drain(p);
    this.enqueue(p.batch, p.after, `write ${p.path}`, p.path, p.fd);
  }

  /**
   * A batch for a new change over the newest state: a fork of the newest unmade root's batch, if
   * there is one. Waits first while too many answered changes have no root yet. Runs inside the queue.
   */
  private async batchForChange(): Promise<{ batch: Batch; after: RootJob | undefined }> {
    while (this.jobs.length >= MAX_UNMADE_ROOTS) await this.jobs[0]!.done;
    const tip = this.jobs[this.jobs.length - 1];
    return tip === undefined ? { batch: this.fs.batch(this.current), after: undefined } : { batch: tip.batch.fork(), after: tip };
  }

  /** `batch` (answered already) becomes a root after those before it. */
  private enqueue(batch: Batch, after: RootJob | undefined, what: string, path: string, fd?: number): void {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.jobs.push({ batch, what, path, after, fd, error: undefined, done, finish });
    if (!this.makingRoots) {
      this.makingRoots = true;
      void this.makeRoots();
    }
  }

  /**
   * Makes the answered changes' roots in order, outside the request queue: each root waits a
   * turn of the event loop first, so answers go out and new requests are served in between.
   */
  private async makeRoots(): Promise<void> {
    while (this.jobs.length > 0) {
      const job = this.jobs[0]!;
      try {
        await nextTurn();
        if (job.after?.error !== undefined) throw job.after.error;
        // The root and its commit in one step (a commit costs a few µs: one blob, one swap).
        await this.advance(await job.batch.flush(), job.what);
        if (job.fd !== undefined) this.emit('written', { path: job.path, root: this.current });
      } catch (err) {
        job.error = err;
        if (job.fd !== undefined) {
          const h = this.handles.get(job.fd);
          if (h !== undefined) this.setWriteError(h, err);
        }
        this.failedBehind(job.path, err);
      }
      this.jobs.shift();
      job.finish();
    }
    this.makingRoots = false;
  }

  /** Hands the gathered run of writes to the batch and waits until everything gathered is in it. */
  private async drain(p: Pending): Promise<void> {
    this.startWriting(p);
    await p.writing;
    if (p.error !== undefined) this.failed(p);
  }

  /** Starts writing the gathered run into the batch (after the run before it); does not wait. */
  private startWriting(p: Pending): void {
    const run = p.run;
    if (run === undefined) return;
    p.run = undefined;
    const before = p.writing;
    const writing = (async () => {
      await before;
      try {
        if (p.error === undefined) await p.batch.write(p.path, run.at, run.view());
      } finally {
        run.release();
      }
    })();
    p.writing = writing.catch((err: unknown) => {
      p.error ??= err;
    });
  }

  /** A run could not be written: the batch is unusable; drop it with what it gathered. */
  private failed(p: Pending): never {
    if (this.pending === p) this.pending = undefined;
    // The kernel's page cache may hold what never reached a root.
    this.newEpoch();
    throw p.error;
  }

  /** A write through `h` failed after its answer: its next flush, fsync or close reports it. */
  private setWriteError(h: Handle, err: unknown): void {
    if (h.writeError === undefined && this.unreported++ === 0) this.fuse?.nativeFlush?.(false);
    h.writeError = err ?? new Error('write failed');
  }

  /** The write failure `h` holds, if any, now reported (or dropped with the handle). */
  private takeWriteError(h: Handle | undefined): unknown {
    const err = h?.writeError;
    if (err === undefined) return undefined;
    h!.writeError = undefined;
    if (--this.unreported === 0) this.fuse?.nativeFlush?.(true);
    return err;
  }

  /** Reads through the handle's opened file, opening it again when the root moved on. */
  private async readFile(h: Handle | undefined, root: Hash, path: string, into: Uint8Array, pos: number): Promise<number> {
    let r = h?.reader;
    if (r === undefined || r.root !== root || r.path !== path) {
      r = { root, path, file: await this.fs.openFile(root, path) };
      if (h !== undefined) h.reader = r;
    }
    return r.file.readInto(into, pos);
  }

  /** Remembers that the kernel's cache of `path` matches the tree as of now. */
  private markCacheable(path: string): void {
    if (this.cacheable.size >= CACHEABLE_PATHS) this.cacheable.clear();
    this.cacheable.set(path, this.epoch);
  }

  /** A rename moves the kernel's inode (and its cache) from one path to another. */
  private moveCacheable(from: string, to: string): void {
    const e = this.cacheable.get(from);
    this.cacheable.delete(from);
    if (e === undefined) this.cacheable.delete(to);
    else this.cacheable.set(to, e);
    // Paths under a renamed directory: forget them (a miss only costs a cache refill).
    const prefixes = [from + '/', to + '/'];
    for (const k of this.cacheable.keys()) if (prefixes.some((x) => k.startsWith(x))) this.cacheable.delete(k);
  }

  /**
   * lstat of `path`, never waiting for a root: from the gathered batch if there is one, else the
   * newest answered change's batch, else the current root.
   */
  private statOf(path: string): Promise<Stats | undefined> {
    // A missing path is an everyday answer (every new name is looked up first): undefined,
    // not an error built and thrown.
    if (this.readOnly || (this.busy === 0 && this.pending === undefined)) return this.lstatNewest(path);
    // Gathered writes were all answered: any path reads their batch, without making it a root
    // (a lookup between a file's create and its writes does not split them into two roots).
    return this.serial(async () => {
      const p = this.pending;
      if (p !== undefined && !this.detached.has(path)) {
        await this.drain(p);
        return p.batch.lstat(path, { throwIfNoEntry: false });
      }
      return this.lstatNewest(path);
    });
  }

  /** lstat in the newest answered state (no gathered writes): the newest unmade root's batch, or the tree. */
  private lstatNewest(path: string): Promise<Stats | undefined> {
    const tip = this.jobs[this.jobs.length - 1];
    if (tip !== undefined && !this.detached.has(path)) return tip.batch.lstat(path, { throwIfNoEntry: false });
    const w = this.where(path);
    return this.fs.lstat(w.root, w.path, { throwIfNoEntry: false });
  }

  /** Runs a read against the current state (after gathered writes). */
  private read<T>(op: () => Promise<T>): Promise<T> {
    if (this.readOnly || this.idle) return op();
    return this.serial(async () => {
      await this.settle();
      return op();
    });
  }

  /** Runs a change: `op` gets the current root and returns the new one. */
  private change(what: string, op: (root: Hash) => Promise<Hash>): Promise<void> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what));
    return this.serial(async () => {
      await this.settle();
      await this.advance(await op(this.current), what);
    });
  }

  /** Where a path lives: a detached (unlinked while open) file has its own private root. */
  private where(path: string): { root: Hash; path: string; detached: Detached | undefined } {
    const d = this.detached.get(path);
    if (d !== undefined) return { root: d.root, path: d.path, detached: d };
    return { root: this.current, path, detached: undefined };
  }

  /** The parent directory's attributes as fuse-native takes them with an answer. */
  private parentHint(parent: Changed['parent']): object | undefined {
    return parent === undefined ? undefined : { path: parent.path, stat: this.stats(parent.stat) };
  }

  private stats(st: Stats): object {
    // Milliseconds as numbers (fuse-native takes a number or a Date): no Date per answer.
    const mtime = st.mtimeMs;
    return {
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: Number(st.size),
      blocks: Number(st.blocks),
      blksize: 4096,
      nlink: st.nlink,
      mtime,
      atime: mtime,
      ctime: st.ctimeMs,
      // Nanosecond times (read by the patched fuse-native; cafs keeps no access time).
      mtimeNs: st.mtimeNs,
      atimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
    };
  }

  /** Changes one entry (or a detached file) and gives its attributes after the change. */
  private fileChange(path: string, what: string, apply: (b: Batch, path: string) => Promise<void>): Promise<Stats> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what, path));
    const d = this.detached.get(path);
    if (d !== undefined) {
      return this.serial(async () => {
        const b = this.fs.batch(d.root);
        await apply(b, d.path);
        d.root = await b.flush();
        return this.fs.lstat(d.root, d.path);
      });
    }
    return this.changeBehind(`${what} ${path}`, path, (b) => apply(b, path));
  }

  /**
   * A change answered before its root is made (write-behind, as a local filesystem's metadata
   * in memory before its journal): `apply` runs on a batch of the newest state (its errors, such
   * as ENOENT or EEXIST, are the answer); once it succeeds, the answer (the attributes of
   * `path`) goes out, and the batch becomes the mount's next root, made between later requests
   * (see `makeRoots`). A root that cannot be made or committed (a store failure, the branch
   * moved by someone else) is reported by a `writeFailed` event, and the mount follows the branch.
   */
  private changeBehind(what: string, path: string, apply: (b: Batch) => Promise<void>): Promise<Stats> {
    return this.changeBehindIn(what, path, apply, false).then((r) => r.stat);
  }

  /** changeBehind that also gives the attributes of the parent directory (a new entry in it). */
  private changeBehindIn(what: string, path: string, apply: (b: Batch) => Promise<void>, withParent: boolean): Promise<Changed> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what, path));
    return this.serial(async () => {
      // Gathered writes (all answered already) become their own root first (tar's futimens
      // right after its writes).
      await this.seal();
      const { batch, after } = await this.batchForChange();
      await apply(batch);
      const stat = await batch.lstat(path);
      const parent = withParent ? await this.parentOf(batch, path) : undefined;
      this.enqueue(batch, after, what, path);
      return { stat, parent };
    });
  }

  /** The directory holding `path`, and its attributes in `batch`. */
  private async parentOf(batch: Batch, path: string): Promise<Changed['parent']> {
    const dir = posix.dirname(path);
    if (dir === path) return undefined;
    return { path: dir, stat: await batch.lstat(dir) };
  }

  /** A root that could not be made after its request was answered. */
  private failedBehind(path: string, err: unknown): void {
    // The kernel's caches may hold what never reached a root.
    this.newEpoch();
    this.emit('writeFailed', { path, error: err instanceof Error ? err : new Error(String(err)) });
  }

  /** The caller of the request being dispatched: read it synchronously, first thing in a handler. */
  private caller(): Caller | undefined {
    const c = this.fuse?.context();
    if (c == null || (c.uid === this.fs.ctx.uid && c.gid === this.fs.ctx.gid)) return undefined;
    return { uid: c.uid, gid: c.gid };
  }

  /** Creates something in a batch and gives it to `owner` (when not the fs default). */
  private createAs(path: string, owner: Caller | undefined, op: (b: Batch) => Promise<void>): (b: Batch) => Promise<void> {
    return async (b) => {
      await op(b);
      if (owner !== undefined) await b.lchown(path, owner.uid, owner.gid);
    };
  }

  private operations() {
    const fs = this.fs;
    const cb0 = (cb: (err: number) => void, p: Promise<unknown>): void => {
      p.then(
        () => cb(0),
        (err: unknown) => cb(toErrno(err)),
      );
    };
    // The attributes after a change go with its answer: libfuse asks for them right after
    // (chmod, chown, utimens, truncate, mkdir, symlink, mknod) and the patched fuse-native
    // answers that getattr with them, without another round trip.
    const cbStat = (cb: (err: number, st?: object) => void, p: Promise<Stats>): void => {
      p.then(
        (st) => cb(0, this.stats(st)),
        (err: unknown) => cb(toErrno(err)),
      );
    };
    // A new entry: its directory's attributes go too (the kernel's permission check asks for
    // them next, default_permissions), answered natively while no other change intervenes.
    const cbCreated = (cb: (err: number, st?: object, parent?: object) => void, p: Promise<Changed>): void => {
      p.then(
        ({ stat, parent }) => cb(0, this.stats(stat), this.parentHint(parent)),
        (err: unknown) => cb(toErrno(err)),
      );
    };

    return {
      init: (cb: (err: number) => void) => cb(0),

      statfs: (_path: string, cb: (err: number, st?: object) => void) => {
        cb(0, { bsize: 4096, frsize: 4096, blocks: 0x7fffffff, bfree: 0x7fffffff, bavail: 0x7fffffff, files: 0x7fffffff, ffree: 0x7fffffff, favail: 0x7fffffff, fsid: 0, flag: 0, namemax: 255 });
      },

      getattr: (path: string, cb: (err: number, st?: object) => void) => {
        this.statOf(path).then(
          (st) => (st === undefined ? cb(FuseNative.ENOENT) : cb(0, this.stats(st))),
          (err) => cb(toErrno(err)),
        );
      },

      fgetattr: (path: string, _fd: number, cb: (err: number, st?: object) => void) => {
        this.statOf(path).then(
          (st) => (st === undefined ? cb(FuseNative.ENOENT) : cb(0, this.stats(st))),
          (err) => cb(toErrno(err)),
        );
      },

      readdir: (path: string, cb: (err: number, names?: string[]) => void) => {
        this.read(() => fs.readdir(this.current, path)).then(
          (names) => cb(0, ['.', '..', ...names]),
          (err) => cb(toErrno(err)),
        );
      },

      open: (path: string, flags: number, cb: (err: number, fd?: number, opts?: { keepCache: boolean }) => void) => {
        const acc = flags & O_ACCMODE;
        const writable = acc === O_WRONLY || acc === O_RDWR;
        if (writable && this.readOnly) return cb(FuseNative.EROFS);
        const p = (async () => {
          const w = await this.read(async () => this.where(path));
          const st = await fs.stat(w.root, w.path);
          if (writable && st.isDirectory()) throw new FsError('EISDIR', 'open', path);
          if (writable && flags & O_TRUNC && st.size > 0n) await this.fileChange(path, 'truncate', (b, p2) => b.truncate(p2, 0));
          const fd = this.nextFd++;
          this.handles.set(fd, { append: (flags & O_APPEND) !== 0, writable, root: w.root, epoch: this.epoch });
          this.emit('opened', { path, fd, flags });
          // Keep the kernel's pages of this file if only this mount's requests changed it since.
          const keepCache = w.detached === undefined && this.cacheable.get(path) === this.epoch;
          if (w.detached === undefined) this.markCacheable(path);
          return { fd, keepCache };
        })();
        p.then(
          ({ fd, keepCache }) => cb(0, fd, { keepCache }),
          (err) => cb(toErrno(err)),
        );
      },

      create: (path: string, mode: number, cb: (err: number, fd?: number, opts?: { stat: object; parent: object | undefined }) => void) => {
        if (this.readOnly) return cb(FuseNative.EROFS);
        // The new file starts a gathered batch: create and the writes that follow (until flush,
        // release or another operation) become one root.
        const owner = this.caller();
        const fd = this.nextFd++;
        const p = this.serial(async (): Promise<Changed | undefined> => {
          await this.seal();
          const { batch, after } = await this.batchForChange();
          try {
            await batch.writeFile(path, new Uint8Array(0), { mode: mode & 0o7777, flag: 'wx' });
            if (owner !== undefined) await batch.lchown(path, owner.uid, owner.gid);
          } catch (err) {
            // Lost a race with another creator: open what is there.
            if (err instanceof FsError && err.code === 'EEXIST') return undefined;
            throw err;
          }
          this.pending = { path, fd, batch, after, run: undefined, writing: undefined, error: undefined };
          this.markCacheable(path);
          // The new file's attributes go with the answer (libfuse asks for them right after), and
          // its directory's (see cbCreated).
          return { stat: await batch.lstat(path), parent: await this.parentOf(batch, path) };
        }).then((st) => {
          this.handles.set(fd, { append: false, writable: true, root: this.current, epoch: this.epoch });
          this.emit('created', { path });
          this.emit('opened', { path, fd, flags: O_RDWR });
          return st;
        });
        p.then(
          (c) => cb(0, fd, c === undefined ? undefined : { stat: this.stats(c.stat), parent: this.parentHint(c.parent) }),
          (err) => cb(toErrno(err)),
        );
      },

      read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
        const h = this.handles.get(fd);
        // Straight into libfuse's buffer (valid until we answer).
        const into = buf.subarray(0, len);
        const answer = (p: Promise<number>): void => {
          p.then(
            (n) => cb(n),
            (err) => cb(toErrno(err)),
          );
        };
        // Opened before a checkout: keeps reading the tree it opened.
        if (h !== undefined && h.epoch !== this.epoch && !h.writable) return answer(this.readFile(h, h.root, path, into, pos));
        answer(
          this.read(() => {
            const w = this.where(path);
            return this.readFile(h, w.root, w.path, into, pos);
          }),
        );
      },

      write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
        if (this.readOnly) return cb(FuseNative.EROFS);
        // A view valid until we answer (fuse-native trims it to the write): copied (into the run) before that.
        const data = buf.length === len ? buf : buf.subarray(0, len);
        const h = this.handles.get(fd);
        const d = this.detached.get(path);
        let p: Promise<unknown>;
        if (d !== undefined) {
          p = this.serial(async () => {
            const at = h?.append ? (await fs.stat(d.root, d.path)).size : pos;
            d.root = await fs.write(d.root, d.path, at, data);
          });
        } else {
          p = this.serial(async () => {
            if (this.pending !== undefined && (this.pending.path !== path || this.pending.fd !== fd)) await this.seal();
            if (this.pending === undefined) {
              const { batch, after } = await this.batchForChange();
              this.pending = { path, fd, batch, after, run: undefined, writing: undefined, error: undefined };
            }
            const pending = this.pending;
            let at = pos;
            if (h?.append) {
              await this.drain(pending);
              at = Number((await pending.batch.stat(path)).size);
            }
            if (pending.error !== undefined) this.failed(pending);
            const run = pending.run;
            if (run !== undefined && run.extends(at, len)) return run.append(data);
            if (run !== undefined && at !== run.end) await this.drain(pending);
            else {
              // At most one run in flight: wait for it before starting this one.
              await pending.writing;
              if (pending.error !== undefined) this.failed(pending);
              this.startWriting(pending);
            }
            pending.run = new WriteRun(at, data, this.slabs);
          });
        }
        p.then(
          () => cb(len),
          (err) => cb(toErrno(err)),
        );
      },

      flush: (path: string, fd: number, cb: (err: number) => void) => {
        if (this.readOnly) return cb(0);
        // With the patched fuse-native, reached only while some descriptor holds a write
        // failure (see `unreported`); without it, on every close.
        const h = this.handles.get(fd);
        const failed = this.takeWriteError(h);
        if (failed !== undefined) return cb(toErrno(failed));
        const p = this.pending;
        if (p === undefined || p.fd !== fd || h === undefined) return cb(0);
        // Write-behind, as the page cache of a local filesystem: close() returns while the
        // gathered writes become a root, between later requests. A failure is reported by the
        // next fsync or close of this descriptor and by a `writeFailed` event.
        cb(0);
        this.serial(() => this.seal()).catch((err: unknown) => {
          this.setWriteError(h, err);
          this.failedBehind(path, err);
        });
      },

      fsync: (_path: string, _datasync: number, fd: number, cb: (err: number) => void) => {
        if (this.readOnly) return cb(0);
        cb0(
          cb,
          this.serial(() => this.settle()).then(() => {
            const failed = this.takeWriteError(this.handles.get(fd));
            if (failed !== undefined) throw failed;
          }),
        );
      },

      fsyncdir: (path: string, _datasync: number, _fd: number, cb: (err: number) => void) => {
        if (this.readOnly) return cb(0);
        // fsync of the mount's root directory commits a branch mount (a save point).
        cb0(cb, path === '/' && this.commits !== undefined ? this.commit() : this.serial(() => this.settle()));
      },

      release: (path: string, fd: number, cb: (err: number) => void) => {
        // A failure still unreported goes with the handle (close has returned; the
        // `writeFailed` event told of it).
        this.takeWriteError(this.handles.get(fd));
        this.handles.delete(fd);
        const closed = (): void => this.emit('closed', { path, fd });
        if (this.readOnly) {
          closed();
          return cb(0);
        }
        // `closed` once what was written through it is a root.
        cb0(
          cb,
          // Only this descriptor's gathered writes: another file's keep gathering (a release
          // arrives in the background, e.g. between the next file's create and its write).
          this.serial(async () => {
            if (this.pending?.fd === fd) await this.seal();
          }).then(() => void this.rootsMade().then(closed)),
        );
      },

      truncate: (path: string, size: number, cb: (err: number, st?: object) => void) => {
        cbStat(cb, this.fileChange(path, 'truncate', (b, p) => b.truncate(p, size)));
      },

      ftruncate: (path: string, _fd: number, size: number, cb: (err: number, st?: object) => void) => {
        cbStat(cb, this.fileChange(path, 'truncate', (b, p) => b.truncate(p, size)));
      },

      unlink: (path: string, cb: (err: number) => void) => {
        if (this.detached.has(path)) {
          // libfuse removing the hidden name of a released, unlinked file.
          this.detached.delete(path);
          return cb(0);
        }
        this.cacheable.delete(path);
        cb0(cb, this.change(`unlink ${path}`, (root) => fs.unlink(root, path)).then(() => this.emit('unlinked', { path })));
      },

      rename: (src: string, dest: string, cb: (err: number) => void) => {
        if (basename(dest).startsWith(HIDDEN_PREFIX)) {
          // libfuse hides a file that is unlinked (or replaced) while open: keep its content in a
          // private root until release, and take it out of the tree now.
          cb0(
            cb,
            this.change(`unlink ${src}`, async (root) => {
              const moved = this.detached.get(src);
              if (moved !== undefined) {
                this.detached.delete(src);
                this.detached.set(dest, moved);
                return root;
              }
              await fs.lstat(root, src);
              this.cacheable.delete(src);
              this.detached.set(dest, { root, path: src });
              this.emit('unlinked', { path: src });
              return fs.unlink(root, src);
            }),
          );
          return;
        }
        cb0(
          cb,
          this.change(`rename ${src} -> ${dest}`, (root) => fs.rename(root, src, dest)).then(() => {
            this.moveCacheable(src, dest);
            this.emit('renamed', { from: src, to: dest });
          }),
        );
      },

      link: (_src: string, _dest: string, cb: (err: number) => void) => cb(FuseNative.EPERM),

      mkdir: (path: string, mode: number, cb: (err: number, st?: object, parent?: object) => void) => {
        const owner = this.caller();
        cbCreated(cb, this.changeBehindIn(`mkdir ${path}`, path, this.createAs(path, owner, (b) => b.mkdir(path, { mode: mode & 0o7777 })), true));
      },

      mknod: (path: string, mode: number, _dev: number, cb: (err: number, st?: object, parent?: object) => void) => {
        const kind = mode & 0o170000;
        // Named pipes and sockets are entries the kernel gives life to; regular files are empty
        // files. Device nodes are refused: cafs stores no device numbers.
        const type = kind === 0o010000 ? 'fifo' : kind === 0o140000 ? 'socket' : kind === 0o100000 || kind === 0 ? 'file' : undefined;
        if (type === undefined) return cb(FuseNative.EPERM);
        const owner = this.caller();
        const perm = mode & 0o7777;
        cbCreated(
          cb,
          this.changeBehindIn(
            `mknod ${path}`,
            path,
            this.createAs(path, owner, (b) => (type === 'file' ? b.writeFile(path, new Uint8Array(0), { mode: perm, flag: 'wx' }) : b.mknod(path, type, perm))),
            true,
          ).then((r) => {
            this.emit('created', { path });
            return r;
          }),
        );
      },

      rmdir: (path: string, cb: (err: number) => void) => {
        cb0(cb, this.change(`rmdir ${path}`, (root) => fs.rmdir(root, path)));
      },

      symlink: (target: string, path: string, cb: (err: number, st?: object, parent?: object) => void) => {
        const owner = this.caller();
        cbCreated(cb, this.changeBehindIn(`symlink ${path}`, path, this.createAs(path, owner, (b) => b.symlink(target, path)), true));
      },

      readlink: (path: string, cb: (err: number, target?: string) => void) => {
        this.read(() => fs.readlink(this.current, path)).then(
          (t) => cb(0, t),
          (err) => cb(toErrno(err)),
        );
      },

      chmod: (path: string, mode: number, cb: (err: number, st?: object) => void) => {
        cbStat(cb, this.fileChange(path, 'chmod', (b, p) => b.chmod(p, mode & 0o7777)));
      },

      chown: (path: string, uid: number, gid: number, cb: (err: number, st?: object) => void) => {
        const u = uid === 0xffffffff ? -1 : uid;
        const g = gid === 0xffffffff ? -1 : gid;
        cbStat(cb, this.fileChange(path, 'chown', (b, p) => b.lchown(p, u, g)));
      },

      utimens: (path: string, _atime: Timespec | number, mtime: Timespec | number, cb: (err: number, st?: object) => void) => {
        // cafs's fs keeps no access time: only the modification time is stored.
        const ns = mtimeNs(mtime);
        if (ns === undefined) return cb(0);
        cbStat(cb, this.fileChange(path, 'utimens', (b, p) => b.lutimes(p, ns, ns)));
      },

      setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: (err: number) => void) => {
        if (path === '/' && name === ROOT_XATTR) return cb(FuseNative.EPERM);
        if (path === '/' && name === COMMIT_XATTR) {
          if (this.commits === undefined) return cb(FuseNative.EPERM);
          return cb0(cb, this.commit(value.toString('utf8')));
        }
        if (!name.startsWith('user.') && !name.startsWith('trusted.')) return cb(FuseNative.EOPNOTSUPP);
        const v = new Uint8Array(value.length);
        v.set(value);
        const fl = flags & XATTR_CREATE ? 'create' : flags & XATTR_REPLACE ? 'replace' : undefined;
        cb0(cb, this.fileChange(path, 'setxattr', (b, p) => b.setxattr(p, name, v, fl === undefined ? {} : { flags: fl })));
      },

      getxattr: (path: string, name: string, _position: number, cb: (err: number, value?: Buffer) => void) => {
        // The kernel asks for security.capability before writes: answer without a round trip
        // through the queue, so it does not break up gathered writes.
        if (!name.startsWith('user.') && !name.startsWith('trusted.')) return cb(FuseNative.ENODATA);
        if (path === '/' && name === ROOT_XATTR) {
          this.currentRoot().then(
            (r) => cb(0, Buffer.from(bytesToHex(r))),
            (err) => cb(toErrno(err)),
          );
          return;
        }
        this.read(async () => {
          const w = this.where(path);
          return fs.getxattr(w.root, w.path, name);
        }).then(
          (v) => cb(0, Buffer.from(v.buffer, v.byteOffset, v.length)),
          (err) => cb(toErrno(err)),
        );
      },

      listxattr: (path: string, cb: (err: number, list?: string[]) => void) => {
        this.read(async () => {
          const w = this.where(path);
          return fs.listxattr(w.root, w.path);
        }).then(
          (names) => cb(0, path === '/' ? [ROOT_XATTR, ...names] : names),
          (err) => cb(toErrno(err)),
        );
      },

      removexattr: (path: string, name: string, cb: (err: number) => void) => {
        if (path === '/' && name === ROOT_XATTR) return cb(FuseNative.EPERM);
        cb0(cb, this.fileChange(path, 'removexattr', (b, p) => b.removexattr(p, name)));
      },
    };
  }
}
