// Every filesystem operation, applied to a transaction over one root. A Batch gathers many of
// them and `flush` gives the one new root; `Fs` runs each call as a batch of one.
import { compareBytes, type Hash, type Tree } from '@cafs/kv';
import { FileReader } from './data/file-reader.js';
import { streamRange } from './data/file-stream.js';
import { rewrite, readRange, writeNew, extentsFrom, extentBytes, type BlobCache } from './data/file-data.js';
import { FsError } from './errors.js';
import { MAX_TIME_NS, MIN_TIME_NS, SPECIAL_TYPES, decodeInfo, encodeInfo, infoType, isLinkRecord, sortXattrs, type FileType, type Info, type SpecialType } from './info.js';
import { childKey, extentRange, infoKey, keyNames, prefixEnd, ROOT_KEY } from './keys.js';
import { valueAt, type KvReader } from './kv-view.js';
import { Txn } from './kv-view.js';
import { NAME_MAX, pathBytes, showPath, type PathLike } from './path.js';
import { parentKeyEnd, plainInfoKey, readInfo, resolve, type Resolved } from './resolve.js';
import { Stats } from './stats.js';
import { copyFromRoot, link, moveOrCopy, removeName, removePath } from './name-ops.js';
import { TxnOps, type FsContext } from './txn-ops.js';

export type { FsContext };

/** Largest file size: 2^63 - 1 bytes. */
export const MAX_FILE_SIZE = 2n ** 63n - 1n;
export const XATTR_NAME_MAX = 255;
export const XATTR_VALUE_MAX = 65536;

export type Data = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
export type Time = Date | number | bigint;


export interface DirEntry {
  name: string;
  /** The raw name bytes (names need not be UTF-8). */
  nameBytes: Uint8Array;
  type: FileType;
  /** The entry's size as `lstat` gives it (0 for a directory that has no info of its own). */
  size: bigint;
}

export interface WriteFileOptions {
  /** Permission bits of a new file (default 0o644). */
  mode?: number | undefined;
  mtime?: Time | undefined;
  /** 'w' (default): create or replace; 'wx': fail with EEXIST if it exists; 'a': append. */
  flag?: 'w' | 'wx' | 'a' | undefined;
  signal?: AbortSignal | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Nanoseconds since the epoch from a Date, seconds (number, as node:fs takes) or nanoseconds (bigint). */
export function toNs(t: Time): bigint {
  if (typeof t === 'bigint') return t;
  if (t instanceof Date) return BigInt(t.getTime()) * 1_000_000n;
  if (!Number.isFinite(t)) throw new FsError('EINVAL', 'utimes', undefined, `invalid time ${String(t)}`);
  return BigInt(Math.round(t * 1e9));
}

/** toNs, refusing what a stored time cannot hold (signed 64-bit nanoseconds). */
export function checkedNs(t: Time, syscall: string, path: PathLike | undefined): bigint {
  const ns = toNs(t);
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) throw new FsError('EINVAL', syscall, path === undefined ? undefined : showPath(path), `time ${String(t)} is outside 1677..2262`);
  return ns;
}

function checkOffset(x: number | bigint, syscall: string, path: PathLike, what = 'offset'): bigint {
  if (typeof x === 'number' && !Number.isSafeInteger(x)) {
    throw new FsError('EINVAL', syscall, showPath(path), `${what} must be a non-negative integer`);
  }
  if (typeof x !== 'number' && typeof x !== 'bigint') throw new FsError('EINVAL', syscall, showPath(path), `${what} must be a number or bigint`);
  const v = BigInt(x);
  if (v < 0n) throw new FsError('EINVAL', syscall, showPath(path), `${what} must be a non-negative integer`);
  if (v > MAX_FILE_SIZE) throw new FsError('EFBIG', syscall, showPath(path));
  return v;
}

function checkMode(mode: number, syscall: string, path: PathLike): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new FsError('EINVAL', syscall, showPath(path), `invalid mode ${String(mode)}`);
  return mode;
}

function checkId(id: number, syscall: string, path: PathLike): number {
  if (!Number.isInteger(id) || id < -1 || id > 0xffffffff) throw new FsError('EINVAL', syscall, showPath(path), `invalid owner id ${String(id)}`);
  return id;
}

async function* toPieces(data: Data): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') yield encoder.encode(data);
  else if (data instanceof Uint8Array) yield data;
  else {
    for await (const piece of data as AsyncIterable<unknown>) {
      if (typeof piece === 'string') yield encoder.encode(piece);
      else if (piece instanceof Uint8Array) yield piece;
      else throw new FsError('EINVAL', 'write', undefined, 'data pieces must be Uint8Array or string');
    }
  }
}

function nameOf(key: Uint8Array, dirKey: Uint8Array): Uint8Array {
  let end = dirKey.length;
  while (end < key.length && key[end] !== 0x2f && key[end] !== 0) end++;
  return key.subarray(dirKey.length, end);
}

/** Read operations; they take any reader, so they work on a root or inside a batch. */
export class FsReader {
  constructor(
    readonly ctx: FsContext,
    readonly kv: KvReader,
  ) {}

  protected async existing(path: PathLike, syscall: string, follow: boolean): Promise<Resolved & { info: Info }> {
    const r = await resolve(this.kv, path, syscall, follow);
    if (r.info === undefined) throw new FsError('ENOENT', syscall, showPath(path));
    return r as Resolved & { info: Info };
  }

  /**
   * The key where a path's info and data live (symlinks followed): its own info key, or for a
   * hard link's other name the inode's. A file's keys are this and its extent keys below it.
   */
  async inodeKey(path: PathLike): Promise<Uint8Array> {
    return (await this.existing(path, 'stat', true)).key;
  }

  /**
   * Every name of the inode at `path` (symlinks not followed), itself included, as absolute
   * paths; [] when nothing is there. The least name, which holds the inode, comes first.
   */
  async inodeNames(path: PathLike): Promise<string[]> {
    const r = await resolve(this.kv, path, 'lstat', false);
    if (r.info === undefined) return [];
    const show = (key: Uint8Array): string => '/' + keyNames(key).map((n) => decoder.decode(n)).join('/');
    return [r.key, ...(r.info.links ?? [])].map(show);
  }

  /** Opens a file for many reads (symlinks followed): see FileReader. */
  async openFile(path: PathLike): Promise<FileReader> {
    const r = await this.existing(path, 'open', true);
    if (r.info.type === 'directory') throw new FsError('EISDIR', 'open', showPath(path));
    return new FileReader(this.kv, this.ctx.blobs, r.key, r.info.size);
  }

  // Not async themselves: the caller then awaits statOf's own promise, and a rejection (ENOENT,
  // an everyday answer) never passes through a promise that has no handler yet.
  /** As node:fs `statSync`: `throwIfNoEntry: false` gives undefined for a missing entry. */
  stat(path: PathLike, options?: { throwIfNoEntry?: true }): Promise<Stats>;
  stat(path: PathLike, options: { throwIfNoEntry: false }): Promise<Stats | undefined>;
  stat(path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats | undefined> {
    return this.statOf(path, 'stat', true, options?.throwIfNoEntry !== false);
  }

  lstat(path: PathLike, options?: { throwIfNoEntry?: true }): Promise<Stats>;
  lstat(path: PathLike, options: { throwIfNoEntry: false }): Promise<Stats | undefined>;
  lstat(path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats | undefined> {
    return this.statOf(path, 'lstat', false, options?.throwIfNoEntry !== false);
  }

  private async statOf(path: PathLike, syscall: string, follow: boolean, throwIfNoEntry: boolean): Promise<Stats | undefined> {
    // Fast path: a plain absolute path needs no link resolution if it exists (only directories
    // can be above an existing key) or if its parent is a directory that lacks it.
    const key = typeof path === 'string' || path instanceof Uint8Array ? plainInfoKey(path) : undefined;
    if (key !== undefined) {
      const value = await valueAt(this.kv, key);
      if (value !== undefined) {
        const info = isLinkRecord(value) ? undefined : decodeInfo(value);
        if (info !== undefined && !(follow && info.type === 'symlink')) return new Stats(info, key);
      } else {
        const end = parentKeyEnd(key);
        const missing = end === 1 || (await this.isDirectoryKey(key.subarray(0, end)));
        if (missing) {
          if (throwIfNoEntry) throw new FsError('ENOENT', syscall, showPath(path));
          return undefined;
        }
      }
    }
    try {
      const r = await this.existing(path, syscall, follow);
      return new Stats(r.info, r.key);
    } catch (err) {
      if (!throwIfNoEntry && err instanceof FsError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async isDirectoryKey(key: Uint8Array): Promise<boolean> {
    const value = await valueAt(this.kv, key);
    return value !== undefined && infoType(value) === 'directory';
  }

  async exists(path: PathLike): Promise<boolean> {
    try {
      return (await resolve(this.kv, path, 'access', true)).info !== undefined;
    } catch (err) {
      if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'ELOOP')) return false;
      throw err;
    }
  }

  /** Names in a directory, in byte order. */
  async readdir(path: PathLike): Promise<string[]> {
    const out: string[] = [];
    for await (const e of this.dirEntries(path)) out.push(e.name);
    return out;
  }

  /** Entries with their types (`readdir` with `withFileTypes`). */
  async readdirWithTypes(path: PathLike): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    for await (const e of this.dirEntries(path)) out.push(e);
    return out;
  }

  /**
   * Streams a directory's entries without holding them all, in name (byte) order; with `after`,
   * only the entries whose names sort after it (to list a large directory page by page).
   */
  async *dirEntries(path: PathLike, options: { after?: string | Uint8Array | undefined } = {}): AsyncGenerator<DirEntry> {
    const dir = await this.existing(path, 'scandir', true);
    if (dir.info.type !== 'directory') throw new FsError('ENOTDIR', 'scandir', showPath(path));
    const end = prefixEnd(dir.key);
    let from: Uint8Array | undefined;
    if (options.after !== undefined) {
      const after = typeof options.after === 'string' ? encoder.encode(options.after) : options.after;
      from = prefixEnd(childKey(dir.key, after));
    }
    for (;;) {
      let found: DirEntry | undefined;
      let childInfoKey: Uint8Array | undefined;
      for await (const e of this.kv.entries(from === undefined ? { gt: dir.key, lt: end } : { gte: from, lt: end })) {
        const name = nameOf(e.key, dir.key);
        childInfoKey = childKey(dir.key, name);
        const own = compareBytes(e.key, childInfoKey) === 0;
        const info = !own ? undefined : isLinkRecord(e.value) ? await readInfo(this.kv, childInfoKey) : decodeInfo(e.value);
        found = { name: decoder.decode(name), nameBytes: name.slice(), type: info?.type ?? 'directory', size: info?.size ?? 0n };
        break;
      }
      if (found === undefined) return;
      yield found;
      from = prefixEnd(childInfoKey!);
    }
  }

  /**
   * How many subdirectories a directory has (its `nlink` is 2 + this, as on tmpfs), looking at
   * no more than `limit` entries: undefined for a larger directory. One seek per entry.
   */
  async subdirCount(path: PathLike, limit = 10_000): Promise<number | undefined> {
    const dir = await this.existing(path, 'stat', true);
    if (dir.info.type !== 'directory') throw new FsError('ENOTDIR', 'stat', showPath(path));
    const end = prefixEnd(dir.key);
    let from: Uint8Array | undefined;
    let seen = 0;
    let dirs = 0;
    for (;;) {
      let next: Uint8Array | undefined;
      for await (const e of this.kv.entries(from === undefined ? { gt: dir.key, lt: end } : { gte: from, lt: end })) {
        const child = childKey(dir.key, nameOf(e.key, dir.key));
        // A child with no info of its own (its key absent, keys below it) reads as a directory.
        if (compareBytes(e.key, child) !== 0 || infoType(e.value) === 'directory') dirs++;
        next = prefixEnd(child);
        break;
      }
      if (next === undefined) return dirs;
      if (++seen > limit) return undefined;
      from = next;
    }
  }

  async readFile(path: PathLike): Promise<Uint8Array> {
    const r = await this.existing(path, 'open', true);
    if (r.info.type === 'directory') throw new FsError('EISDIR', 'read', showPath(path));
    if (r.info.size > BigInt(2 ** 31 - 1)) throw new FsError('EFBIG', 'read', showPath(path), 'file is too large to read at once; use read or reader');
    return readRange(this.kv, this.ctx.blobs, r.key, r.info.size, 0n, Number(r.info.size));
  }

  /** Bytes [offset, offset + length) of a file; shorter at the end of the file. */
  async read(path: PathLike, options: { offset?: number | bigint; length?: number } = {}): Promise<Uint8Array> {
    const r = await this.existing(path, 'read', true);
    if (r.info.type === 'directory') throw new FsError('EISDIR', 'read', showPath(path));
    const offset = checkOffset(options.offset ?? 0, 'read', path);
    const length = options.length ?? Math.min(Number(r.info.size > offset ? r.info.size - offset : 0n), 2 ** 31 - 1);
    if (!Number.isSafeInteger(length) || length < 0) throw new FsError('EINVAL', 'read', showPath(path), 'length must be a non-negative integer');
    return readRange(this.kv, this.ctx.blobs, r.key, r.info.size, offset, length);
  }

  /** Streams a file's bytes [start, end) in pieces (extent by extent; holes in 64 KiB zeros). */
  async *stream(path: PathLike, options: { start?: number | bigint; end?: number | bigint; signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const r = await this.existing(path, 'open', true);
    if (r.info.type === 'directory') throw new FsError('EISDIR', 'read', showPath(path));
    const pos = checkOffset(options.start ?? 0, 'read', path, 'start');
    const end0 = options.end === undefined ? r.info.size : checkOffset(options.end, 'read', path, 'end');
    const end = end0 < r.info.size ? end0 : r.info.size;
    yield* streamRange(this.kv, this.ctx.blobs, r.key, pos, end, options.signal);
  }

  async readlink(path: PathLike): Promise<string> {
    return decoder.decode(await this.readlinkBytes(path));
  }

  async readlinkBytes(path: PathLike): Promise<Uint8Array> {
    const r = await this.existing(path, 'readlink', false);
    if (r.info.type !== 'symlink') throw new FsError('EINVAL', 'readlink', showPath(path));
    return r.info.target!;
  }

  async getxattr(path: PathLike, name: string | Uint8Array): Promise<Uint8Array> {
    const r = await this.existing(path, 'getxattr', true);
    const n = typeof name === 'string' ? encoder.encode(name) : name;
    const x = r.info.xattrs.find((a) => compareBytes(a.name, n) === 0);
    if (x === undefined) throw new FsError('ENODATA', 'getxattr', showPath(path));
    return x.value;
  }

  async listxattr(path: PathLike): Promise<string[]> {
    const r = await this.existing(path, 'listxattr', true);
    return r.info.xattrs.map((x) => decoder.decode(x.name));
  }
}

/** Mutating operations inside one transaction. Operations run one at a time, in call order. */
export class Batch extends FsReader {
  readonly txn: Txn;
  private readonly ops: TxnOps;
  private queue: Promise<unknown> = Promise.resolve();
  private flushed = false;

  constructor(ctx: FsContext, root: Hash | Txn) {
    const txn = root instanceof Txn ? root : new Txn(ctx.tree, root);
    super(ctx, txn);
    this.txn = txn;
    this.ops = new TxnOps(ctx, txn);
  }

  /**
   * A batch on top of this one's operations so far: it sees them, and its own `flush` gives the
   * root of its operations applied to this batch's root, so this batch must be flushed first.
   * For answering a change right away while the change before it is still becoming a root.
   */
  fork(): Batch {
    return new Batch(this.ctx, this.txn.fork());
  }

  /** Runs `op` after every operation queued before it. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.flushed) return Promise.reject(new FsError('EINVAL', 'batch', undefined, 'this batch has been flushed'));
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Applies every operation and returns the new root. */
  flush(options: { signal?: AbortSignal } = {}): Promise<Hash> {
    return this.serial(async () => {
      this.flushed = true;
      return this.txn.flush(options);
    });
  }

  mkdir(path: PathLike, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    return this.serial(async () => {
      const mode = checkMode(options.mode ?? 0o755, 'mkdir', path);
      if (options.recursive) {
        const r = await resolve(this.txn, path, 'mkdir', true).catch((err: unknown) => {
          if (err instanceof FsError && err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (r?.info !== undefined) {
          if (r.info.type !== 'directory') throw new FsError('EEXIST', 'mkdir', showPath(path));
          return;
        }
        // Create each missing ancestor in turn.
        const bytes = pathBytes(path);
        let prefix = '';
        const parts = decoder.decode(bytes).split('/').filter((p) => p !== '' && p !== '.');
        for (const part of parts) {
          prefix += '/' + part;
          const step = await resolve(this.txn, prefix, 'mkdir', true);
          if (step.info === undefined) await this.createDir(step, mode, prefix);
          else if (step.info.type !== 'directory') throw new FsError('ENOTDIR', 'mkdir', showPath(path));
        }
        return;
      }
      const r = await resolve(this.txn, path, 'mkdir', false);
      if (r.info !== undefined) throw new FsError('EEXIST', 'mkdir', showPath(path));
      await this.createDir(r, mode, path);
    });
  }

  private async createDir(r: Resolved, mode: number, path: PathLike): Promise<void> {
    await this.ops.newEntryParent(r, 'mkdir', path);
    this.ops.put(r.key, this.ops.newInfo('directory', mode));
    await this.ops.touchDir(r.parentKey);
  }

  writeFile(path: PathLike, data: Data, options: WriteFileOptions = {}): Promise<void> {
    return this.serial(async () => {
      const flag = options.flag ?? 'w';
      if (flag === 'a') return this.appendUnlocked(path, data);
      const mtime = options.mtime === undefined ? undefined : checkedNs(options.mtime, 'open', path);
      const r = await resolve(this.txn, path, 'open', true);
      let info: Info;
      if (r.info !== undefined) {
        if (flag === 'wx') throw new FsError('EEXIST', 'open', showPath(path));
        if (r.info.type === 'directory') throw new FsError('EISDIR', 'open', showPath(path));
        await this.ops.dropExtents(r.key);
        info = r.info;
      } else {
        await this.ops.newEntryParent(r, 'open', path);
        info = this.ops.newInfo('file', checkMode(options.mode ?? 0o644, 'open', path));
        await this.ops.touchDir(r.parentKey);
      }
      // An empty file (every create through a mount starts as one) has no extents to write.
      const empty = data === '' || (data instanceof Uint8Array && data.length === 0);
      const { size, allocated } = empty ? { size: 0n, allocated: 0n } : await writeNew(this.txn, this.ctx.blobs, r.key, toPieces(data), options.signal);
      const now = this.ctx.now();
      this.ops.put(r.key, { ...info, size, allocated, mtimeNs: mtime ?? now, ctimeNs: now });
    });
  }

  appendFile(path: PathLike, data: Data): Promise<void> {
    return this.serial(() => this.appendUnlocked(path, data));
  }

  private async appendUnlocked(path: PathLike, data: Data): Promise<void> {
    const r = await resolve(this.txn, path, 'open', true);
    if (r.info === undefined) {
      await this.ops.newEntryParent(r, 'open', path);
      this.ops.put(r.key, this.ops.newInfo('file', 0o644));
      await this.ops.touchDir(r.parentKey);
    } else if (r.info.type === 'directory') {
      throw new FsError('EISDIR', 'open', showPath(path));
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const p of toPieces(data)) {
      chunks.push(p);
      total += p.length;
    }
    const bytes = chunks.length === 1 ? chunks[0]! : concat(chunks, total);
    const info = (await readInfo(this.txn, r.key))!;
    await this.writeAt(r.key, info, info.size, bytes, path);
  }

  /** Writes `bytes` at `offset` of an existing file, extending it as needed. */
  write(path: PathLike, offset: number | bigint, bytes: Uint8Array): Promise<void> {
    return this.serial(async () => {
      const at = checkOffset(offset, 'write', path);
      if (!(bytes instanceof Uint8Array)) throw new FsError('EINVAL', 'write', showPath(path), 'data must be a Uint8Array');
      if (at + BigInt(bytes.length) > MAX_FILE_SIZE) throw new FsError('EFBIG', 'write', showPath(path));
      const r = await this.existing(path, 'write', true);
      if (r.info.type === 'directory') throw new FsError('EISDIR', 'write', showPath(path));
      if (r.info.type !== 'file') throw new FsError('EINVAL', 'write', showPath(path), `a ${r.info.type} holds no data`);
      await this.writeAt(r.key, r.info, at, bytes, path);
    });
  }

  private async writeAt(key: Uint8Array, info: Info, at: bigint, bytes: Uint8Array, _path: PathLike): Promise<void> {
    if (bytes.length === 0) return;
    const end = at + BigInt(bytes.length);
    const newSize = end > info.size ? end : info.size;
    const { allocatedDelta } = await rewrite(this.txn, this.ctx.blobs, key, info.size, newSize, { offset: at, bytes });
    const now = this.ctx.now();
    this.ops.put(key, { ...info, size: newSize, allocated: info.allocated + allocatedDelta, mtimeNs: now, ctimeNs: now });
  }

  truncate(path: PathLike, length: number | bigint = 0): Promise<void> {
    return this.serial(async () => {
      const size = checkOffset(length, 'truncate', path, 'length');
      const r = await this.existing(path, 'truncate', true);
      if (r.info.type === 'directory') throw new FsError('EISDIR', 'truncate', showPath(path));
      if (r.info.type !== 'file') throw new FsError('EINVAL', 'truncate', showPath(path), `a ${r.info.type} holds no data`);
      const now = this.ctx.now();
      if (size === r.info.size) {
        this.ops.put(r.key, { ...r.info, mtimeNs: now, ctimeNs: now });
        return;
      }
      const { allocatedDelta } = await rewrite(this.txn, this.ctx.blobs, r.key, r.info.size, size, undefined);
      this.ops.put(r.key, { ...r.info, size, allocated: r.info.allocated + allocatedDelta, mtimeNs: now, ctimeNs: now });
    });
  }

  unlink(path: PathLike): Promise<void> {
    return this.serial(async () => {
      const r = await this.existing(path, 'unlink', false);
      if (r.info.type === 'directory') throw new FsError('EISDIR', 'unlink', showPath(path));
      await removeName(this.ops, r);
      await this.ops.touchDir(r.parentKey);
    });
  }

  /** Copies a non-directory of another root of the same tree here, sharing its blobs (one name). */
  copyFrom(root: Hash, from: PathLike, to: PathLike): Promise<void> {
    return this.serial(() => copyFromRoot(this.ops, root, from, to));
  }

  /** A new name for an existing non-directory (link(2); symbolic links are not followed). */
  link(existing: PathLike, newPath: PathLike): Promise<void> {
    return this.serial(() => link(this.ops, existing, newPath));
  }

  rmdir(path: PathLike): Promise<void> {
    return this.serial(async () => {
      const r = await this.existing(path, 'rmdir', false);
      if (r.info.type !== 'directory') throw new FsError('ENOTDIR', 'rmdir', showPath(path));
      if (r.names.length === 0) throw new FsError('EBUSY', 'rmdir', showPath(path));
      if (!(await this.ops.isEmptyDir(r.key))) throw new FsError('ENOTEMPTY', 'rmdir', showPath(path));
      this.txn.del(r.key);
      await this.ops.touchDir(r.parentKey);
    });
  }

  /** Removes a file, link or (with `recursive`) a whole directory tree in one range delete. */
  rm(path: PathLike, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    return this.serial(() => removePath(this.ops, path, options));
  }

  /** Moves a file or directory, replacing `to` as POSIX rename does. */
  rename(from: PathLike, to: PathLike): Promise<void> {
    return this.serial(() => moveOrCopy(this.ops, from, to, true, true));
  }

  /** Copies a file, or (with `recursive`) a directory tree; blobs are shared, no data is copied. */
  copy(from: PathLike, to: PathLike, options: { recursive?: boolean } = {}): Promise<void> {
    return this.serial(() => moveOrCopy(this.ops, from, to, false, options.recursive ?? false));
  }

  symlink(target: PathLike, path: PathLike): Promise<void> {
    return this.serial(async () => {
      const t = pathBytes(target);
      if (t.length === 0) throw new FsError('ENOENT', 'symlink', showPath(path));
      if (t.length > 4096) throw new FsError('ENAMETOOLONG', 'symlink', showPath(path));
      if (t.includes(0)) throw new FsError('EINVAL', 'symlink', showPath(path), 'target contains a NUL byte');
      const r = await resolve(this.txn, path, 'symlink', false);
      if (r.info !== undefined) throw new FsError('EEXIST', 'symlink', showPath(target), undefined, showPath(path));
      await this.ops.newEntryParent(r, 'symlink', path);
      this.ops.put(r.key, { ...this.ops.newInfo('symlink', 0o777), target: t.slice(), size: BigInt(t.length) });
      await this.ops.touchDir(r.parentKey);
    });
  }

  /**
   * Creates a named pipe, a socket node or a device node (as mknod(2) / mkfifo(3)): an entry
   * with a type, metadata and (devices) a device number, and no data; what flows through it is
   * the kernel's business, not the tree's. `rdev` is makedev(major, minor), for devices only.
   */
  mknod(path: PathLike, type: SpecialType, mode = 0o644, rdev = 0): Promise<void> {
    return this.serial(async () => {
      if (!SPECIAL_TYPES.includes(type)) throw new FsError('EINVAL', 'mknod', showPath(path), `cannot make a ${String(type)}`);
      const device = type === 'chardev' || type === 'blockdev';
      if (!Number.isSafeInteger(rdev) || rdev < 0 || (!device && rdev !== 0)) {
        throw new FsError('EINVAL', 'mknod', showPath(path), device ? `invalid device number ${String(rdev)}` : `a ${type} has no device number`);
      }
      const m = checkMode(mode, 'mknod', path);
      const r = await resolve(this.txn, path, 'mknod', false);
      if (r.info !== undefined) throw new FsError('EEXIST', 'mknod', showPath(path));
      await this.ops.newEntryParent(r, 'mknod', path);
      this.ops.put(r.key, device ? { ...this.ops.newInfo(type, m), rdev } : this.ops.newInfo(type, m));
      await this.ops.touchDir(r.parentKey);
    });
  }

  private changeInfo(path: PathLike, syscall: string, follow: boolean, change: (info: Info) => Info): Promise<void> {
    return this.serial(async () => {
      const r = await this.existing(path, syscall, follow);
      this.ops.put(r.key, { ...change(r.info), ctimeNs: this.ctx.now() });
    });
  }

  async chmod(path: PathLike, mode: number): Promise<void> {
    const m = checkMode(mode, 'chmod', path);
    return this.changeInfo(path, 'chmod', true, (info) => ({ ...info, mode: m }));
  }

  /** uid or gid -1 leaves that one unchanged, as chown(2). */
  async chown(path: PathLike, uid: number, gid: number): Promise<void> {
    checkId(uid, 'chown', path);
    checkId(gid, 'chown', path);
    return this.changeInfo(path, 'chown', true, (info) => ({ ...info, uid: uid === -1 ? info.uid : uid, gid: gid === -1 ? info.gid : gid }));
  }

  async lchown(path: PathLike, uid: number, gid: number): Promise<void> {
    checkId(uid, 'lchown', path);
    checkId(gid, 'lchown', path);
    return this.changeInfo(path, 'lchown', false, (info) => ({ ...info, uid: uid === -1 ? info.uid : uid, gid: gid === -1 ? info.gid : gid }));
  }

  /**
   * Sets the access and modification times; `undefined` leaves one as it is (UTIME_OMIT). The
   * access time is stored only when set here (reads never change a root; see docs/format.md).
   */
  async utimes(path: PathLike, atime: Time | undefined, mtime: Time | undefined): Promise<void> {
    return this.setTimes(path, 'utime', true, atime, mtime);
  }

  async lutimes(path: PathLike, atime: Time | undefined, mtime: Time | undefined): Promise<void> {
    return this.setTimes(path, 'lutime', false, atime, mtime);
  }

  private setTimes(path: PathLike, syscall: string, follow: boolean, atime: Time | undefined, mtime: Time | undefined): Promise<void> {
    const a = atime === undefined ? undefined : checkedNs(atime, syscall, path);
    const m = mtime === undefined ? undefined : checkedNs(mtime, syscall, path);
    return this.changeInfo(path, syscall, follow, (info) => {
      // The access time as it reads now, kept when only the modification time moves.
      const atimeNs = a ?? info.atimeNs ?? info.mtimeNs;
      return { ...info, mtimeNs: m ?? info.mtimeNs, atimeNs };
    });
  }

  /** flags: 'create' fails with EEXIST if set, 'replace' with ENODATA if not. */
  async setxattr(path: PathLike, name: string | Uint8Array, value: Uint8Array, options: { flags?: 'create' | 'replace' } = {}): Promise<void> {
    const n = typeof name === 'string' ? encoder.encode(name) : name;
    if (n.length === 0 || n.includes(0)) throw new FsError('EINVAL', 'setxattr', showPath(path), 'invalid attribute name');
    if (n.length > XATTR_NAME_MAX) throw new FsError('ENAMETOOLONG', 'setxattr', showPath(path));
    if (!(value instanceof Uint8Array)) throw new FsError('EINVAL', 'setxattr', showPath(path), 'value must be a Uint8Array');
    if (value.length > XATTR_VALUE_MAX) throw new FsError('E2BIG', 'setxattr', showPath(path));
    return this.changeInfo(path, 'setxattr', true, (info) => {
      const i = info.xattrs.findIndex((x) => compareBytes(x.name, n) === 0);
      if (i >= 0 && options.flags === 'create') throw new FsError('EEXIST', 'setxattr', showPath(path));
      if (i < 0 && options.flags === 'replace') throw new FsError('ENODATA', 'setxattr', showPath(path));
      const xattrs = info.xattrs.filter((_, j) => j !== i);
      xattrs.push({ name: n.slice(), value: value.slice() });
      const next = { ...info, xattrs: sortXattrs(xattrs) };
      if (encodeInfo(next).length > 60_000) throw new FsError('E2BIG', 'setxattr', showPath(path), 'extended attributes too large');
      return next;
    });
  }

  async removexattr(path: PathLike, name: string | Uint8Array): Promise<void> {
    const n = typeof name === 'string' ? encoder.encode(name) : name;
    return this.changeInfo(path, 'removexattr', true, (info) => {
      const i = info.xattrs.findIndex((x) => compareBytes(x.name, n) === 0);
      if (i < 0) throw new FsError('ENODATA', 'removexattr', showPath(path));
      return { ...info, xattrs: info.xattrs.filter((_, j) => j !== i) };
    });
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export { NAME_MAX, ROOT_KEY, infoKey };
