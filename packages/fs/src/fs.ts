import { Tree, type BlobStore, type Hash, type TreeOptions } from '@cafs/kv';
import { BlobLru } from './blob-cache.js';
import { Batch, FsReader, checkedNs, type Data, type DirEntry, type FsContext, type Time, type WriteFileOptions } from './batch.js';
import { diffPage, diffRoots, type DiffPage, type DiffPageOptions, type FsChange, type FsDiffOptions } from './diff.js';
import { encodeInfo, type Info, type SpecialType } from './info.js';
import { ROOT_KEY } from './keys.js';
import { TreeReader } from './kv-view.js';
import type { PathLike } from './path.js';
import type { Stats } from './stats.js';
import type { FileReader } from './data/file-reader.js';

export interface FsOptions extends TreeOptions {
  /** Bytes of recently read file blobs kept (default 16 MiB: a LevelDB store hands a chunk back in ~15 µs, so more buys little but resident memory). */
  blobCacheBytes?: number | undefined;
  /** The clock for mtime and ctime, in nanoseconds since the epoch (default: the system clock). */
  now?: (() => bigint) | undefined;
  /** Owner of new files and directories (default 0). */
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface MkfsOptions {
  /** Permission bits of the root directory (default 0o755). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Root directory times (default 0: the empty filesystem then has one well-known root). */
  mtime?: Time;
}

const systemClock = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

/**
 * The filesystem as a value: every method takes a root hash and every change returns a new
 * one; nothing is changed in place, so any root stays readable. Errors are FsErrors with
 * Node's codes. Use `batch(root)` to apply many operations and get one root at `flush()`.
 */
export class Fs {
  readonly tree: Tree;
  readonly ctx: FsContext;

  constructor(store: BlobStore, options: FsOptions = {}) {
    this.tree = new Tree(store, options);
    this.ctx = {
      tree: this.tree,
      blobs: new BlobLru(store, options.blobCacheBytes ?? 16 * 1024 * 1024),
      now: options.now ?? systemClock,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
    };
  }

  get store(): BlobStore {
    return this.tree.store;
  }

  /** A filesystem holding only an empty root directory. */
  async mkfs(options: MkfsOptions = {}): Promise<Hash> {
    const t = options.mtime === undefined ? 0n : checkedNs(options.mtime, 'mkfs', undefined);
    const info: Info = {
      type: 'directory',
      mode: options.mode ?? 0o755,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
      mtimeNs: t,
      ctimeNs: t,
      size: 0n,
      allocated: 0n,
      target: undefined,
      xattrs: [],
    };
    return this.tree.put(Tree.EMPTY_ROOT, ROOT_KEY, encodeInfo(info));
  }

  /** Operations gathered into one new root at `flush()`. */
  batch(root: Hash): Batch {
    return new Batch(this.ctx, root);
  }

  private reader(root: Hash): FsReader {
    return new FsReader(this.ctx, new TreeReader(this.tree, root));
  }

  private async change(root: Hash, op: (b: Batch) => Promise<void>): Promise<Hash> {
    const b = this.batch(root);
    await op(b);
    return b.flush();
  }

  // Reads.
  /** As node:fs `statSync`: `throwIfNoEntry: false` gives undefined for a missing entry. */
  stat(root: Hash, path: PathLike, options?: { throwIfNoEntry?: true }): Promise<Stats>;
  stat(root: Hash, path: PathLike, options: { throwIfNoEntry: false }): Promise<Stats | undefined>;
  stat(root: Hash, path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats | undefined> {
    return options?.throwIfNoEntry === false ? this.reader(root).stat(path, { throwIfNoEntry: false }) : this.reader(root).stat(path);
  }
  lstat(root: Hash, path: PathLike, options?: { throwIfNoEntry?: true }): Promise<Stats>;
  lstat(root: Hash, path: PathLike, options: { throwIfNoEntry: false }): Promise<Stats | undefined>;
  lstat(root: Hash, path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats | undefined> {
    return options?.throwIfNoEntry === false ? this.reader(root).lstat(path, { throwIfNoEntry: false }) : this.reader(root).lstat(path);
  }
  exists(root: Hash, path: PathLike): Promise<boolean> {
    return this.reader(root).exists(path);
  }
  readdir(root: Hash, path: PathLike): Promise<string[]>;
  readdir(root: Hash, path: PathLike, options: { withFileTypes: true }): Promise<DirEntry[]>;
  readdir(root: Hash, path: PathLike, options?: { withFileTypes?: boolean }): Promise<string[] | DirEntry[]> {
    return options?.withFileTypes ? this.reader(root).readdirWithTypes(path) : this.reader(root).readdir(path);
  }
  dirEntries(root: Hash, path: PathLike, options?: { after?: string | Uint8Array | undefined }): AsyncGenerator<DirEntry> {
    return this.reader(root).dirEntries(path, options);
  }
  /** Subdirectories of a directory, for its link count (2 + this); undefined past `limit` entries. */
  subdirCount(root: Hash, path: PathLike, limit?: number): Promise<number | undefined> {
    return this.reader(root).subdirCount(path, limit);
  }
  /** Every name of the inode at `path` in `root`, the least (which holds it) first; [] when absent. */
  inodeNames(root: Hash, path: PathLike): Promise<string[]> {
    return this.reader(root).inodeNames(path);
  }
  /** Where a path's info and extents live in `root` (its inode's key: see FsReader.inodeKey). */
  inodeKey(root: Hash, path: PathLike): Promise<Uint8Array> {
    return this.reader(root).inodeKey(path);
  }
  /** A file of `root` opened for many reads (`readInto`): the path is resolved once. */
  openFile(root: Hash, path: PathLike): Promise<FileReader> {
    return this.reader(root).openFile(path);
  }
  readFile(root: Hash, path: PathLike): Promise<Uint8Array> {
    return this.reader(root).readFile(path);
  }
  read(root: Hash, path: PathLike, options?: { offset?: number | bigint; length?: number }): Promise<Uint8Array> {
    return this.reader(root).read(path, options);
  }
  /** A file's bytes as a stream of pieces (views of blob data, not copies: possibly of a SharedArrayBuffer). */
  stream(root: Hash, path: PathLike, options?: { start?: number | bigint; end?: number | bigint; signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    return this.reader(root).stream(path, options);
  }
  readlink(root: Hash, path: PathLike): Promise<string> {
    return this.reader(root).readlink(path);
  }
  getxattr(root: Hash, path: PathLike, name: string | Uint8Array): Promise<Uint8Array> {
    return this.reader(root).getxattr(path, name);
  }
  listxattr(root: Hash, path: PathLike): Promise<string[]> {
    return this.reader(root).listxattr(path);
  }

  // Changes: each returns the new root.
  mkdir(root: Hash, path: PathLike, options?: { recursive?: boolean; mode?: number }): Promise<Hash> {
    return this.change(root, (b) => b.mkdir(path, options));
  }
  writeFile(root: Hash, path: PathLike, data: Data, options?: WriteFileOptions): Promise<Hash> {
    return this.change(root, (b) => b.writeFile(path, data, options));
  }
  appendFile(root: Hash, path: PathLike, data: Data): Promise<Hash> {
    return this.change(root, (b) => b.appendFile(path, data));
  }
  write(root: Hash, path: PathLike, offset: number | bigint, bytes: Uint8Array): Promise<Hash> {
    return this.change(root, (b) => b.write(path, offset, bytes));
  }
  truncate(root: Hash, path: PathLike, length?: number | bigint): Promise<Hash> {
    return this.change(root, (b) => b.truncate(path, length));
  }
  unlink(root: Hash, path: PathLike): Promise<Hash> {
    return this.change(root, (b) => b.unlink(path));
  }
  rmdir(root: Hash, path: PathLike): Promise<Hash> {
    return this.change(root, (b) => b.rmdir(path));
  }
  rm(root: Hash, path: PathLike, options?: { recursive?: boolean; force?: boolean }): Promise<Hash> {
    return this.change(root, (b) => b.rm(path, options));
  }
  rename(root: Hash, from: PathLike, to: PathLike): Promise<Hash> {
    return this.change(root, (b) => b.rename(from, to));
  }
  copy(root: Hash, from: PathLike, to: PathLike, options?: { recursive?: boolean }): Promise<Hash> {
    return this.change(root, (b) => b.copy(from, to, options));
  }
  /** A new name for an existing non-directory (link(2)): both names then share data and metadata. */
  link(root: Hash, existing: PathLike, newPath: PathLike): Promise<Hash> {
    return this.change(root, (b) => b.link(existing, newPath));
  }
  symlink(root: Hash, target: PathLike, path: PathLike): Promise<Hash> {
    return this.change(root, (b) => b.symlink(target, path));
  }
  mknod(root: Hash, path: PathLike, type: SpecialType, mode?: number, rdev?: number): Promise<Hash> {
    return this.change(root, (b) => b.mknod(path, type, mode, rdev));
  }
  chmod(root: Hash, path: PathLike, mode: number): Promise<Hash> {
    return this.change(root, (b) => b.chmod(path, mode));
  }
  chown(root: Hash, path: PathLike, uid: number, gid: number): Promise<Hash> {
    return this.change(root, (b) => b.chown(path, uid, gid));
  }
  lchown(root: Hash, path: PathLike, uid: number, gid: number): Promise<Hash> {
    return this.change(root, (b) => b.lchown(path, uid, gid));
  }
  utimes(root: Hash, path: PathLike, atime: Time | undefined, mtime: Time | undefined): Promise<Hash> {
    return this.change(root, (b) => b.utimes(path, atime, mtime));
  }
  lutimes(root: Hash, path: PathLike, atime: Time | undefined, mtime: Time | undefined): Promise<Hash> {
    return this.change(root, (b) => b.lutimes(path, atime, mtime));
  }
  setxattr(root: Hash, path: PathLike, name: string | Uint8Array, value: Uint8Array, options?: { flags?: 'create' | 'replace' }): Promise<Hash> {
    return this.change(root, (b) => b.setxattr(path, name, value, options));
  }
  removexattr(root: Hash, path: PathLike, name: string | Uint8Array): Promise<Hash> {
    return this.change(root, (b) => b.removexattr(path, name));
  }

  /** What changed from root `a` to root `b`, path by path, in key order. */
  diff(a: Hash, b: Hash, options?: FsDiffOptions): AsyncGenerator<FsChange> {
    return diffRoots(this, a, b, options);
  }
  /** One bounded page of `diff` (for servers and UIs): pass `next` back as `after`. */
  diffPage(a: Hash, b: Hash, options?: DiffPageOptions): Promise<DiffPage> {
    return diffPage(this, a, b, options);
  }
}
