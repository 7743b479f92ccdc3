// The Drive: the mutable session an application holds on a branch. It keeps a current root,
// speaks node:fs/promises, runs its operations one at a time in call order, and commits.
import { equalBytes, hashToHex, type Hash } from '@cafs/kv';
import { FsError, type Batch, type Fs, type Time } from '@cafs/fs';
import type { Repo } from '../repo.js';
import { GcGuard } from '../gc-guard.js';
import { RepoError } from '../errors.js';
import * as ops from './ops.js';
import { DriveFileHandle, parseFlags, type OpenFlags } from './file-handle.js';
import { DriveBatch } from './batch.js';
import { DriveWatcher, type WatchOptions } from './watch.js';
import { createReadStream, createWriteStream, type DriveReadStream, type DriveWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './streams.js';
import { nodeFs, type NodeFsAdapter } from './node-fs.js';
import {
  DriveBigIntStats,
  DriveDirent,
  DriveStats,
  driveError,
  encodingOf,
  fromBytes,
  normalize,
  parseMode,
  showPath,
  toPath,
  type Encoding,
  type PathArg,
} from './util.js';

export interface DriveOptions {
  /** The branch this drive commits to. Without `root`, the drive starts at the branch head (an empty filesystem if the branch does not exist yet). */
  branch?: string | undefined;
  /** Start at this root instead of the branch head. */
  root?: Hash | undefined;
  /** The commit `root` came from: what `commit` expects the branch to hold. */
  head?: Hash | undefined;
  /** Every mutation rejects with EROFS. */
  readOnly?: boolean | undefined;
}

type P = PathArg;

const noop = (): void => undefined;

/** Reads on one fixed root, shaped like a Batch's reads. */
function readerOn(fs: Fs, root: Hash): ops.Reader {
  return {
    stat: (p) => fs.stat(root, p),
    lstat: (p) => fs.lstat(root, p),
    exists: (p) => fs.exists(root, p),
    readdirWithTypes: (p) => fs.readdir(root, p, { withFileTypes: true }),
    readFile: (p) => fs.readFile(root, p),
    read: (p, o) => fs.read(root, p, o),
    readlink: (p) => fs.readlink(root, p),
  };
}

/**
 * A mutable filesystem session over a Repo: node:fs/promises names and behaviour, each change a
 * new root (`drive.root`), operations serialized in call order, `commit` by compare-and-swap.
 */
export class Drive {
  readonly repo: Repo;
  readonly branch: string | undefined;
  readonly readOnly: boolean;
  /** Settles when the drive knows its root (immediately when constructed with one). */
  readonly ready: Promise<void>;
  private _root: Hash | undefined;
  private _head: Hash | undefined;
  private tail: Promise<unknown>;
  private readonly watchers = new Set<DriveWatcher>();
  private readonly handles = new Map<number, DriveFileHandle>();
  private nextFd = 3;

  constructor(repo: Repo, options: DriveOptions = {}) {
    this.repo = repo;
    this.branch = options.branch;
    this.readOnly = options.readOnly ?? false;
    this._head = options.head;
    if (options.root !== undefined) {
      this._root = options.root;
      this.ready = Promise.resolve();
    } else if (options.branch !== undefined) {
      const branch = options.branch;
      this.ready = (async () => {
        let head: Hash | undefined;
        try {
          head = await repo.head(branch);
        } catch (err) {
          if (!(err instanceof RepoError && err.code === 'ERR_UNKNOWN_REF')) throw err;
        }
        this._head = head;
        this._root = head === undefined ? await repo.fs.mkfs() : (await repo.readCommit(head)).root;
      })();
    } else {
      this.ready = repo.fs.mkfs().then((r) => {
        this._root = r;
      });
    }
    this.tail = this.ready.catch(noop);
  }

  /** A drive on `branch`, at its head (or empty, if the branch does not exist yet). */
  static async open(repo: Repo, branch: string, options: Omit<DriveOptions, 'branch'> = {}): Promise<Drive> {
    const d = new Drive(repo, { ...options, branch });
    await d.ready;
    return d;
  }

  /** The current root. */
  get root(): Hash {
    if (this._root === undefined) throw new RepoError('EINVAL', 'the drive is not ready yet: await drive.ready or use Drive.open');
    return this._root;
  }

  /** The commit this drive last saw on its branch (what the next `commit` expects). */
  get head(): Hash | undefined {
    return this._head;
  }

  get fs(): Fs {
    return this.repo.fs;
  }

  // The queue.

  /** @internal Runs `op` after every operation called before it. */
  _run<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => this.ready).then(op);
    this.tail = run.catch(noop);
    return run;
  }

  /** @internal A queued read of the current root. */
  _read<T>(op: (root: Hash) => Promise<T>): Promise<T> {
    return this._run(() => op(this._root!));
  }

  /** @internal A queued change: `op` on a batch over the current root, which becomes the new root. */
  _change<T>(syscall: string, path: P | undefined, op: (b: Batch) => Promise<T>): Promise<T> {
    if (this.readOnly) return Promise.reject(this.rofs(syscall, path));
    return this._run(async () => {
      const b = this.repo.fs.batch(this._root!);
      const value = await op(b);
      this._setRoot(await b.flush());
      return value;
    });
  }

  /** @internal A queued change computed from the current root. */
  _replace(syscall: string, op: (root: Hash) => Promise<Hash>): Promise<void> {
    if (this.readOnly) return Promise.reject(this.rofs(syscall, undefined));
    return this._run(async () => this._setRoot(await op(this._root!)));
  }

  private _setRoot(next: Hash): void {
    const prev = this._root!;
    if (equalBytes(prev, next)) return;
    this._root = next;
    // A working root that is not committed yet is held against garbage collection.
    const release = this.release;
    this.release = this.repo.store instanceof GcGuard ? this.repo.store.hold(next) : undefined;
    release?.();
    for (const w of this.watchers) w._push(prev, next);
  }

  private release: (() => void) | undefined;

  /** @internal */
  rofs(syscall: string, path: P | undefined): FsError {
    return driveError('EROFS', syscall, path === undefined ? undefined : showPath(toPath(path)));
  }

  // Reads.

  readFile(path: P | DriveFileHandle, options?: { encoding?: Encoding; flag?: string; signal?: AbortSignal } | BufferEncoding | null): Promise<Buffer | string>;
  async readFile(path: P | DriveFileHandle, options?: { encoding?: Encoding; flag?: string; signal?: AbortSignal } | BufferEncoding | null): Promise<Buffer | string> {
    if (path instanceof DriveFileHandle) return path.readFile(options);
    const p = toPath(path);
    if (typeof options === 'object' && options?.signal) options.signal.throwIfAborted();
    const bytes = await this._read((root) => this.fs.readFile(root, p));
    return fromBytes(bytes, encodingOf(options));
  }

  async readdir(path: P, options?: { encoding?: Encoding; withFileTypes?: boolean; recursive?: boolean } | BufferEncoding | null): Promise<(string | Buffer)[] | DriveDirent[]> {
    const p = toPath(path, 'scandir');
    const o = typeof options === 'object' && options !== null ? options : {};
    const enc = encodingOf(options);
    const name = (n: string): string | Buffer => (enc === 'buffer' ? Buffer.from(n) : n);
    return this._read(async (root) => {
      const base = normalize(p);
      const out: (string | Buffer)[] = [];
      const dirents: DriveDirent[] = [];
      const walk = async (dir: string, rel: string): Promise<void> => {
        for (const e of await this.fs.readdir(root, dir, { withFileTypes: true })) {
          const relName = rel === '' ? e.name : `${rel}/${e.name}`;
          if (o.withFileTypes) dirents.push(new DriveDirent(name(e.name), rel === '' ? base : `${base === '/' ? '' : base}/${rel}`, e.type));
          else out.push(name(relName));
          if (o.recursive && e.type === 'directory') await walk(`${dir === '/' ? '' : dir}/${e.name}`, relName);
        }
      };
      await walk(base, '');
      return o.withFileTypes ? dirents : out;
    });
  }

  stat(path: P, options: { bigint: true }): Promise<DriveBigIntStats>;
  stat(path: P, options?: { bigint?: false }): Promise<DriveStats>;
  stat(path: P, options?: { bigint?: boolean }): Promise<DriveStats | DriveBigIntStats>;
  stat(path: P, options?: { bigint?: boolean }): Promise<DriveStats | DriveBigIntStats> {
    const p = toPath(path, 'stat');
    return this._read(async (root) => {
      const s = await this.fs.stat(root, p);
      return options?.bigint ? new DriveBigIntStats(s, normalize(p)) : new DriveStats(s, normalize(p));
    });
  }

  lstat(path: P, options: { bigint: true }): Promise<DriveBigIntStats>;
  lstat(path: P, options?: { bigint?: false }): Promise<DriveStats>;
  lstat(path: P, options?: { bigint?: boolean }): Promise<DriveStats | DriveBigIntStats>;
  lstat(path: P, options?: { bigint?: boolean }): Promise<DriveStats | DriveBigIntStats> {
    const p = toPath(path, 'lstat');
    return this._read(async (root) => {
      const s = await this.fs.lstat(root, p);
      return options?.bigint ? new DriveBigIntStats(s, normalize(p)) : new DriveStats(s, normalize(p));
    });
  }

  /** F_OK checks existence; W_OK on a read-only drive is EROFS (permission bits are not enforced). */
  async access(path: P, mode = 0): Promise<void> {
    const p = toPath(path, 'access');
    await this._read(async (root) => {
      try {
        await this.fs.stat(root, p);
      } catch (err) {
        if (err instanceof FsError) throw driveError(err.code, 'access', showPath(p));
        throw err;
      }
    });
    if (mode & 2 && this.readOnly) throw this.rofs('access', p);
  }

  /** Not in node:fs/promises, but handy: does the path exist (following links)? */
  exists(path: P): Promise<boolean> {
    const p = toPath(path);
    return this._read((root) => this.fs.exists(root, p));
  }

  async readlink(path: P, options?: { encoding?: Encoding } | BufferEncoding): Promise<string | Buffer> {
    const p = toPath(path, 'readlink');
    const t = await this._read((root) => this.fs.readlink(root, p));
    return encodingOf(options) === 'buffer' ? Buffer.from(t) : t;
  }

  async realpath(path: P, options?: { encoding?: Encoding } | BufferEncoding): Promise<string | Buffer> {
    const p = toPath(path, 'realpath');
    const r = await this._read((root) => ops.realpath(readerOn(this.fs, root), p));
    return encodingOf(options) === 'buffer' ? Buffer.from(r) : r;
  }

  // Changes.

  writeFile(path: P | DriveFileHandle, data: unknown, options?: ops.WriteFileOptions | BufferEncoding): Promise<void> {
    if (path instanceof DriveFileHandle) return path.writeFile(data, options);
    const p = toPath(path);
    return this._change('open', p, (b) => ops.writeFile(b, p, data, options, 'w'));
  }

  appendFile(path: P | DriveFileHandle, data: unknown, options?: ops.WriteFileOptions | BufferEncoding): Promise<void> {
    if (path instanceof DriveFileHandle) return path.appendFile(data, options);
    const p = toPath(path);
    return this._change('open', p, (b) => ops.writeFile(b, p, data, options, 'a'));
  }

  mkdir(path: P, options?: ops.MkdirOptions | number | string): Promise<string | undefined> {
    const p = toPath(path, 'mkdir');
    return this._change('mkdir', p, (b) => ops.mkdir(b, p, options));
  }

  /** mkdtemp: `prefix` plus six random characters, created as a directory; returns its path. */
  mkdtemp(prefix: string): Promise<string> {
    const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return this._change('mkdtemp', prefix, async (b) => {
      for (;;) {
        let p = prefix;
        for (let i = 0; i < 6; i++) p += chars[Math.floor(Math.random() * chars.length)];
        if (await b.exists(p)) continue;
        await b.mkdir(p, { mode: 0o700 });
        return p;
      }
    });
  }

  rm(path: P, options?: { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void> {
    const p = toPath(path, 'rm');
    return this._change('rm', p, (b) => ops.rm(b, p, options));
  }

  rmdir(path: P, options?: { recursive?: boolean }): Promise<void> {
    const p = toPath(path, 'rmdir');
    return this._change('rmdir', p, (b) => ops.rmdir(b, p, options));
  }

  unlink(path: P): Promise<void> {
    const p = toPath(path, 'unlink');
    return this._change('unlink', p, (b) => b.unlink(p));
  }

  rename(from: P, to: P): Promise<void> {
    const f = toPath(from, 'rename');
    const t = toPath(to, 'rename');
    return this._change('rename', f, (b) => ops.rename(b, f, t));
  }

  copyFile(src: P, dest: P, mode?: number): Promise<void> {
    const s = toPath(src, 'copyfile');
    const d = toPath(dest, 'copyfile');
    return this._change('copyfile', d, (b) => ops.copyFile(b, s, d, mode));
  }

  cp(src: P, dest: P, options?: ops.CpOptions): Promise<void> {
    const s = toPath(src, 'cp');
    const d = toPath(dest, 'cp');
    return this._change('cp', d, (b) => ops.cp(b, s, d, options));
  }

  symlink(target: P, path: P, _type?: string | null): Promise<void> {
    const t = toPath(target, 'symlink');
    const p = toPath(path, 'symlink');
    return this._change('symlink', p, (b) => b.symlink(t, p));
  }

  /** A new name for an existing non-directory (link(2)): the names share data and metadata. */
  link(existing: P, newPath: P): Promise<void> {
    const e = toPath(existing, 'link');
    const n = toPath(newPath, 'link');
    return this._change('link', n, (b) => b.link(e, n));
  }

  chmod(path: P, mode: number | string): Promise<void> {
    const p = toPath(path, 'chmod');
    return this._change('chmod', p, (b) => b.chmod(p, parseMode(mode, 0) & 0o7777));
  }

  chown(path: P, uid: number, gid: number): Promise<void> {
    const p = toPath(path, 'chown');
    return this._change('chown', p, (b) => b.chown(p, uid, gid));
  }

  lchown(path: P, uid: number, gid: number): Promise<void> {
    const p = toPath(path, 'lchown');
    return this._change('lchown', p, (b) => b.lchown(p, uid, gid));
  }

  utimes(path: P, atime: Time | string, mtime: Time | string): Promise<void> {
    const p = toPath(path, 'utime');
    return this._change('utime', p, (b) => b.utimes(p, ops.toTime(atime), ops.toTime(mtime)));
  }

  lutimes(path: P, atime: Time | string, mtime: Time | string): Promise<void> {
    const p = toPath(path, 'lutime');
    return this._change('lutime', p, (b) => b.lutimes(p, ops.toTime(atime), ops.toTime(mtime)));
  }

  truncate(path: P, len = 0): Promise<void> {
    const p = toPath(path, 'truncate');
    return this._change('truncate', p, (b) => b.truncate(p, len < 0 ? 0 : len));
  }

  // Handles and streams.

  /** Opens a file: flags 'r' (default), 'r+', 'w', 'w+', 'wx', 'wx+', 'a', 'a+', 'ax', 'ax+' or O_* numbers. */
  async open(path: P, flags: OpenFlags = 'r', mode?: number | string): Promise<DriveFileHandle> {
    const p = toPath(path, 'open');
    const f = parseFlags(flags);
    if (f.write && this.readOnly) throw this.rofs('open', p);
    const fileMode = parseMode(mode, 0o666) & ~ops.UMASK & 0o7777;
    const check = async (b: ops.Reader, create: Batch | undefined): Promise<void> => {
      let type: string | undefined;
      try {
        type = (await b.stat(p)).type;
      } catch (err) {
        if (!(err instanceof FsError && err.code === 'ENOENT' && create !== undefined)) {
          if (err instanceof FsError) throw driveError(err.code, 'open', showPath(p));
          throw err;
        }
      }
      if (type === undefined) {
        await create!.writeFile(p, new Uint8Array(0), { flag: 'wx', mode: fileMode });
        return;
      }
      if (f.excl) throw driveError('EEXIST', 'open', showPath(p));
      if (type === 'directory' && f.write) throw driveError('EISDIR', 'open', showPath(p));
      if (f.trunc && create !== undefined) await create.truncate(p, 0);
    };
    if (f.create || f.trunc) await this._change('open', p, (b) => check(b, b));
    else await this._read((root) => check(readerOn(this.fs, root), undefined));
    const fd = this.nextFd++;
    const h = new DriveFileHandle(this, fd, normalize(p), f);
    this.handles.set(fd, h);
    return h;
  }

  /** @internal */
  _closed(h: DriveFileHandle): void {
    this.handles.delete(h.fd);
  }

  /** Open handles by descriptor. */
  get openHandles(): ReadonlyMap<number, DriveFileHandle> {
    return this.handles;
  }

  createReadStream(path: P, options?: ReadStreamOptions | BufferEncoding): DriveReadStream {
    return createReadStream(this, toPath(path), options);
  }

  createWriteStream(path: P, options?: WriteStreamOptions | BufferEncoding): DriveWriteStream {
    return createWriteStream(this, toPath(path), options);
  }

  // Sessions, snapshots and batches.

  /**
   * Records the current root as a commit on the branch. The branch must still be at the head
   * this drive last saw (compare-and-swap); if not, the ConflictError is rethrown and the drive
   * is unchanged. Returns the commit hash.
   */
  commit(message: string, options: { author?: string; timeNs?: bigint } = {}): Promise<Hash> {
    if (this.readOnly) return Promise.reject(this.rofs('commit', undefined));
    if (this.branch === undefined) return Promise.reject(new RepoError('EINVAL', 'this drive has no branch to commit to'));
    const branch = this.branch;
    return this._run(async () => {
      const hash = await this.repo.commit(branch, this._root!, message, { ...options, expect: this._head });
      this._head = hash;
      return hash;
    });
  }

  /** A read-only drive on any snapshot: a branch, tag, commit or root hash (`repo.resolve` syntax). */
  async checkout(ref: string | Hash): Promise<Drive> {
    const r = await this.repo.resolve(typeof ref === 'string' ? ref : hashToHex(ref));
    return new Drive(this.repo, { root: r.root, head: r.commit, readOnly: true });
  }

  /** Mutations gathered into one new root when `flush()` is awaited. */
  batch(): DriveBatch {
    return new DriveBatch(this);
  }

  /** Changes as the drive changes: {op, path, root} per changed path, between consecutive roots. */
  watch(path?: P, options: WatchOptions = {}): DriveWatcher {
    const w = new DriveWatcher(this, path === undefined ? undefined : normalize(toPath(path)), options, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    return w;
  }

  /** A node:fs-shaped object (with `promises`) over this drive, e.g. for isomorphic-git. */
  nodeFs(): NodeFsAdapter {
    return nodeFs(this);
  }

  /** Closes open handles and ends watchers. */
  async close(): Promise<void> {
    for (const h of [...this.handles.values()]) await h.close();
    for (const w of [...this.watchers]) w.close();
    this.release?.();
    this.release = undefined;
  }
}

export { DriveStats, DriveBigIntStats, DriveDirent };
