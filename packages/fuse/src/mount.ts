// A cafs root or a repository branch mounted as a Linux filesystem through fuse-native
// (libfuse 2.9, high-level path API). Every mutation yields a new root; on a branch mount the
// branch head advances by commits as the commit policy says (commit-policy.ts).
import { EventEmitter } from 'node:events';
import { mkdir as fsMkdir } from 'node:fs/promises';
import { resolve as resolvePath, posix } from 'node:path';
import { Fs, FsError, type Batch, type Stats } from '@cafs/fs';
import { bytesToHex, equalBytes, type Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import { installExitHook, installSignalHandlers, live } from './lifecycle.js';
import { guard, type Caller } from './native.js';
import { BranchCommits, type Committed } from './commit-policy.js';
import { clearStaleMount, run } from './stale.js';
import { createFuseServer, type CafsFuseServer } from './fuse-server.js';
import { SlabPool } from './write-run.js';
import { InodeNumbers } from './inode-numbers.js';
import { DirLinks } from './dir-links.js';
import { KernelCaches } from './kernel-caches.js';
import { OpenNames, type Detached } from './open-names.js';
import type { MountEvents, MountOptions, MountSource } from './mount-types.js';
import { MAX_UNMADE_ROOTS, type Changed, type Handle, type MountCore, type Pending, type RootJob } from './mount-core.js';
import { readOps } from './ops-read.js';
import { writeOps } from './ops-write.js';
import { attrOps } from './ops-attrs.js';
import { dirOps } from './ops-dirs.js';
import { linkOps } from './ops-links.js';
import { xattrOps } from './ops-xattrs.js';

export type { MountEvents, MountOptions, MountSource } from './mount-types.js';

/** A turn of the event loop: answers queued with process.nextTick go out, new requests come in. */
const nextTurn = (): Promise<void> => new Promise((go) => setImmediate(go));

/** Operations whose first argument names an existing file (an aliased hidden name is resolved first). */
const ON_A_NAME = [
  'getattr', 'fgetattr', 'open', 'read', 'write', 'flush', 'fsync', 'release', 'truncate', 'ftruncate',
  'chmod', 'chown', 'utimens', 'setxattr', 'getxattr', 'listxattr', 'removexattr', 'readlink', 'link',
] as const;

/** Mounts `source` at `mountpoint`; resolves once the kernel has the filesystem. */
export async function mount(source: MountSource, mountpoint: string, options: MountOptions = {}): Promise<CafsMount> {
  const m = new CafsMount(source, resolvePath(mountpoint), options);
  await m.start();
  return m;
}

/** A live mount. `root` is the current root; every mutation through the mount makes a new one. */
export class CafsMount implements MountCore {
  readonly mountpoint: string;
  readonly fs: Fs;
  readonly readOnly: boolean;
  readonly repo: Repo | undefined;
  readonly branch: string | undefined;
  /** Roots this mount produced, oldest first (about the last `historyLimit`; trimmed in steps). */
  readonly history: Hash[] = [];
  /** Typed events; see MountEvents. */
  readonly events = new EventEmitter<MountEvents>();
  /** @internal */
  epoch = 0;
  private rootsSinceGc = 0;
  /** @internal */
  readonly slabs = new SlabPool();
  /** @internal */
  current!: Hash;
  /** @internal */
  commits: BranchCommits | undefined;
  private fuse: CafsFuseServer | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Operations queued or running in `queue`. */
  private busy = 0;
  /** @internal */
  pending: Pending | undefined;
  /**
   * Answered changes whose roots are being made, oldest first (write-behind): requests do not
   * wait for them; they read and change the newest one's batch (see `batchForChange`).
   */
  private jobs: RootJob[] = [];
  private makingRoots = false;
  /** @internal */
  handles = new Map<number, Handle>();
  /**
   * Handles holding a write failure their next flush, fsync or close must report. While there
   * are none, flush has nothing to say (gathered writes become a root at release or the next
   * request) and the patched fuse-native answers it without a round trip to JS.
   */
  private unreported = 0;
  /** @internal */
  nextFd = 1;
  /** @internal */
  readonly inos = new InodeNumbers();
  /** @internal */
  readonly dirLinks = new DirLinks();
  /** @internal */
  readonly caches = new KernelCaches();
  /** @internal */
  readonly names: OpenNames;
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
    this.names = new OpenNames(this.fs, this.inos, this.caches);
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

  /** @internal */
  emit<K extends keyof MountEvents>(name: K, ...args: MountEvents[K]): void {
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

    const fuse = createFuseServer(this.mountpoint, guard(this.operations()), {
      readOnly: this.readOnly,
      cache: this.options.cache ?? this.readOnly,
      allowOther: this.options.allowOther === true,
      mkdir: this.options.mkdir !== false,
      debug: this.options.debug ?? false,
      fuseOptions: this.options.fuseOptions ?? [],
      // The patched fuse-native calls this once libfuse's loop has returned: the filesystem was
      // unmounted, by unmount() or from outside (`fusermount -u`, `umount`). Either way the
      // mount ends as unmount() ends it: the last writes become a root (and a commit on a branch
      // mount), then 'unmounted'. Without it, an unmount from outside left this process holding
      // the store with nothing to serve.
      onLoopEnd: () => void this.unmount(),
    });
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
      // fuse-native keeps its server object alive for good: it must not keep this mount (and
      // its store) alive too.
      fuse.release();
      this.emit('unmounted');
    })();
    return this.unmounting;
  }

  // Internals.

  /** @internal */
  serial<T>(op: () => Promise<T>): Promise<T> {
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
    this.dirLinks.forget();
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
    for (const d of this.names.detached.values()) pins.push(d.root);
    // Files opened before a checkout read the root they opened.
    for (const h of this.handles.values()) if (h.epoch !== this.epoch && !h.writable) pins.push(h.root);
    try {
      const r = await this.repo.gc({ keepLast: gc.keepLast, keepNewerThan: gc.keepNewerThan, graceMs: gc.graceMs, pins });
      this.emit('collected', { blobsDeleted: r.blobsDeleted, bytesDeleted: r.bytesDeleted, durationMs: r.durationMs });
    } catch (err) {
      this.emit('collected', { error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  /** @internal Applies the gathered writes and waits until every answered change is a root. Runs inside the queue. */
  async settle(): Promise<void> {
    await this.seal();
    await this.rootsMade();
  }

  /** @internal Resolves once every change answered so far is a root (or has failed). */
  rootsMade(): Promise<void> {
    return this.jobs[this.jobs.length - 1]?.done ?? Promise.resolve();
  }

  /** @internal Hands the gathered writes, if any, to the root maker. Runs inside the queue. */
  async seal(): Promise<void> {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    await this.drain(p);
    this.enqueue(p.batch, p.after, `write ${p.path}`, p.path, p.fd);
  }

  /**
   * A batch for a new change over the newest state: a fork of the newest unmade root's batch, if
   * there is one. Waits first while too many answered changes have no root yet. Runs inside the queue.
   * @internal
   */
  async batchForChange(): Promise<{ batch: Batch; after: RootJob | undefined }> {
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

  /** @internal Hands the gathered run of writes to the batch and waits until everything gathered is in it. */
  async drain(p: Pending): Promise<void> {
    this.startWriting(p);
    await p.writing;
    if (p.error !== undefined) this.failed(p);
  }

  /** @internal Starts writing the gathered run into the batch (after the run before it); does not wait. */
  startWriting(p: Pending): void {
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

  /** @internal A run could not be written: the batch is unusable; drop it with what it gathered. */
  failed(p: Pending): never {
    if (this.pending === p) this.pending = undefined;
    // The kernel's page cache may hold what never reached a root.
    this.newEpoch();
    throw p.error;
  }

  /** @internal A write through `h` failed after its answer: its next flush, fsync or close reports it. */
  setWriteError(h: Handle, err: unknown): void {
    if (h.writeError === undefined && this.unreported++ === 0) this.fuse?.nativeFlush?.(false);
    h.writeError = err ?? new Error('write failed');
  }

  /** @internal The write failure `h` holds, if any, now reported (or dropped with the handle). */
  takeWriteError(h: Handle | undefined): unknown {
    const err = h?.writeError;
    if (err === undefined) return undefined;
    h!.writeError = undefined;
    if (--this.unreported === 0) this.fuse?.nativeFlush?.(true);
    return err;
  }

  /** @internal Reads through the handle's opened file, opening it again when the root moved on. */
  async readFile(h: Handle | undefined, root: Hash, path: string, into: Uint8Array, pos: number): Promise<number> {
    let r = h?.reader;
    if (r === undefined || r.root !== root || r.path !== path) {
      r = { root, path, file: await this.fs.openFile(root, path) };
      if (h !== undefined) h.reader = r;
    }
    return r.file.readInto(into, pos);
  }

  /**
   * lstat of `path`, never waiting for a root: from the gathered batch if there is one, else the
   * newest answered change's batch, else the current root.
   * @internal
   */
  statOf(path: string): Promise<Stats | undefined> {
    // A missing path is an everyday answer (every new name is looked up first): undefined,
    // not an error built and thrown.
    if (this.readOnly || (this.busy === 0 && this.pending === undefined)) return this.lstatNewest(path);
    // Gathered writes were all answered: any path reads their batch, without making it a root
    // (a lookup between a file's create and its writes does not split them into two roots).
    return this.serial(async () => {
      const p = this.pending;
      if (p !== undefined && !this.names.detached.has(path)) {
        await this.drain(p);
        const st = await p.batch.lstat(path, { throwIfNoEntry: false });
        return st && this.dirLinks.attrs(path, st, p.batch);
      }
      return this.lstatNewest(path);
    });
  }

  /** lstat in the newest answered state (no gathered writes): the newest unmade root's batch, or the tree. */
  private async lstatNewest(path: string): Promise<Stats | undefined> {
    const tip = this.jobs[this.jobs.length - 1];
    if (tip !== undefined && !this.names.detached.has(path)) {
      const st = await tip.batch.lstat(path, { throwIfNoEntry: false });
      return st && this.dirLinks.attrs(path, st, tip.batch);
    }
    const w = this.where(path);
    const st = await this.fs.lstat(w.root, w.path, { throwIfNoEntry: false });
    return st && this.dirLinks.attrs(path, st, { subdirCount: (p) => this.fs.subdirCount(w.root, p) });
  }

  /** @internal Runs a read against the current state (after gathered writes). */
  read<T>(op: () => Promise<T>): Promise<T> {
    if (this.readOnly || this.idle) return op();
    return this.serial(async () => {
      await this.settle();
      return op();
    });
  }

  /** @internal Runs a change: `op` gets the current root and returns the new one. */
  change(what: string, op: (root: Hash) => Promise<Hash>): Promise<void> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what));
    return this.serial(async () => {
      await this.settle();
      await this.advance(await op(this.current), what);
    });
  }

  /** @internal Where a path lives: a detached (unlinked while open) file has its own private root. */
  where(path: string): { root: Hash; path: string; detached: Detached | undefined } {
    const d = this.names.detached.get(path);
    if (d !== undefined) return { root: d.root, path: d.path, detached: d };
    return { root: this.current, path, detached: undefined };
  }

  /** @internal Changes one entry (or a detached file) and gives its attributes after the change. */
  fileChange(path: string, what: string, apply: (b: Batch, path: string) => Promise<void>): Promise<Stats> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what, path));
    const d = this.names.detached.get(path);
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

  /** @internal changeBehind that also gives the attributes of the parent directory (a new entry in it). */
  changeBehindIn(what: string, path: string, apply: (b: Batch) => Promise<void>, withParent: boolean): Promise<Changed> {
    if (this.readOnly) return Promise.reject(new FsError('EROFS', what, path));
    return this.serial(async () => {
      // Gathered writes (all answered already) become their own root first (tar's futimens
      // right after its writes).
      await this.seal();
      const { batch, after } = await this.batchForChange();
      await apply(batch);
      const stat = await this.dirLinks.attrs(path, await batch.lstat(path), batch);
      this.caches.sawAttrs(path, stat);
      const parent = withParent ? await this.parentOf(batch, path) : undefined;
      this.enqueue(batch, after, what, path);
      return { stat, parent };
    });
  }

  /** @internal The directory holding `path`, and its attributes in `batch`. */
  async parentOf(batch: Batch, path: string): Promise<Changed['parent']> {
    const dir = posix.dirname(path);
    if (dir === path) return undefined;
    return { path: dir, stat: await this.dirLinks.attrs(dir, await batch.lstat(dir), batch) };
  }

  /** @internal A root that could not be made after its request was answered. */
  failedBehind(path: string, err: unknown): void {
    // The kernel's caches may hold what never reached a root.
    this.newEpoch();
    this.emit('writeFailed', { path, error: err instanceof Error ? err : new Error(String(err)) });
  }

  /** @internal The caller of the request being dispatched: read it synchronously, first thing in a handler. */
  caller(): Caller | undefined {
    const c = this.fuse?.context();
    if (c == null || (c.uid === this.fs.ctx.uid && c.gid === this.fs.ctx.gid)) return undefined;
    return { uid: c.uid, gid: c.gid };
  }

  /** @internal Creates something in a batch and gives it to `owner` (when not the fs default). */
  createAs(path: string, owner: Caller | undefined, op: (b: Batch) => Promise<void>): (b: Batch) => Promise<void> {
    return async (b) => {
      await op(b);
      if (owner !== undefined) await b.lchown(path, owner.uid, owner.gid);
    };
  }

  private operations() {
    const ops = {
      init: (cb: (err: number) => void) => cb(0),
      ...readOps(this),
      ...writeOps(this),
      ...attrOps(this),
      ...dirOps(this),
      ...linkOps(this),
      ...xattrOps(this),
    };
    // Operations on a file by its path: a hidden name of a file that kept other names is
    // served as one of those (see nameGoes).
    const byName = ops as unknown as Record<string, (path: string, ...rest: unknown[]) => void>;
    for (const name of ON_A_NAME) {
      const op = byName[name]!;
      byName[name] = (path, ...rest) => op(this.names.live(path), ...rest);
    }
    return ops;
  }
}
