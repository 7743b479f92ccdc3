// The peer of the fuse suite: a minimal in-memory read/write filesystem written directly on
// fuse-native (a Map of path -> node, hard links sharing a node, growable Buffers, no hashing,
// no trees), mounted with `big_writes` and without fuse-native's per-operation timeout. It is
// the ceiling a Node FUSE filesystem works under: the same round trips through libfuse and the
// JS thread, no work.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// fuse-native ships no types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Fuse: any = require('fuse-native');

interface Node {
  mode: number;
  /** Names of a file (hard links share the node). */
  links: number;
  data: Buffer;
  size: number;
  mtime: Date;
  ctime: Date;
  target?: string;
  children?: Set<string>;
}

type Cb = (err: number, ...rest: unknown[]) => void;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const parentOf = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};
const nameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

export interface MinimalMount {
  unmount(): Promise<void>;
}

/** Mounts the minimal filesystem at `dir` (served on this process's JS thread). */
export async function mountMinimal(dir: string): Promise<MinimalMount> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const nodes = new Map<string, Node>();
  const now = new Date();
  nodes.set('/', { mode: S_IFDIR | 0o755, links: 1, data: Buffer.alloc(0), size: 0, mtime: now, ctime: now, children: new Set() });
  let nextFd = 10;

  const stat = (n: Node): object => ({
    mode: n.mode,
    uid,
    gid,
    size: n.children ? 4096 : n.size,
    nlink: n.children ? 2 : n.links,
    mtime: n.mtime,
    atime: n.mtime,
    ctime: n.ctime,
    blksize: 4096,
    blocks: Math.ceil(n.size / 512),
  });
  const add = (path: string, node: Node): number => {
    const parent = nodes.get(parentOf(path));
    if (!parent?.children) return Fuse.ENOENT;
    if (nodes.has(path)) return Fuse.EEXIST;
    nodes.set(path, node);
    node.links++;
    parent.children.add(nameOf(path));
    parent.mtime = parent.ctime = new Date();
    return 0;
  };
  const remove = (path: string): void => {
    const n = nodes.get(path);
    if (n !== undefined) n.links--;
    nodes.delete(path);
    const parent = nodes.get(parentOf(path));
    parent?.children?.delete(nameOf(path));
  };
  const resize = (n: Node, size: number): void => {
    if (size > n.data.length) {
      const grown = Buffer.alloc(Math.max(size, n.data.length * 2, 4096));
      n.data.copy(grown, 0, 0, n.size);
      n.data = grown;
    } else if (size < n.size) {
      n.data.fill(0, size, n.size);
    }
    n.size = size;
  };

  const ops = {
    getattr(path: string, cb: Cb) {
      const n = nodes.get(path);
      return n ? cb(0, stat(n)) : cb(Fuse.ENOENT);
    },
    fgetattr(path: string, _fd: number, cb: Cb) {
      const n = nodes.get(path);
      return n ? cb(0, stat(n)) : cb(Fuse.ENOENT);
    },
    readdir(path: string, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      if (!n.children) return cb(Fuse.ENOTDIR);
      return cb(0, ['.', '..', ...n.children]);
    },
    open(path: string, _flags: number, cb: Cb) {
      return nodes.has(path) ? cb(0, nextFd++) : cb(Fuse.ENOENT);
    },
    opendir(path: string, _flags: number, cb: Cb) {
      return nodes.has(path) ? cb(0, nextFd++) : cb(Fuse.ENOENT);
    },
    create(path: string, mode: number, cb: Cb) {
      const t = new Date();
      const err = add(path, { mode: S_IFREG | (mode & 0o7777), links: 0, data: Buffer.alloc(0), size: 0, mtime: t, ctime: t });
      return err ? cb(err) : cb(0, nextFd++);
    },
    read(path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      if (pos >= n.size) return cb(0);
      const end = Math.min(n.size, pos + len);
      n.data.copy(buf, 0, pos, end);
      return cb(end - pos);
    },
    write(path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      if (pos + len > n.size) resize(n, pos + len);
      buf.copy(n.data, pos, 0, len);
      n.mtime = n.ctime = new Date();
      return cb(len);
    },
    truncate(path: string, size: number, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      resize(n, size);
      n.mtime = n.ctime = new Date();
      return cb(0);
    },
    ftruncate(path: string, _fd: number, size: number, cb: Cb) {
      ops.truncate(path, size, cb);
    },
    unlink(path: string, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      if (n.children) return cb(Fuse.EISDIR);
      remove(path);
      return cb(0);
    },
    link(from: string, to: string, cb: Cb) {
      const n = nodes.get(from);
      if (!n) return cb(Fuse.ENOENT);
      if (n.children) return cb(Fuse.EPERM);
      const err = add(to, n);
      if (!err) n.ctime = new Date();
      return cb(err);
    },
    mkdir(path: string, mode: number, cb: Cb) {
      const t = new Date();
      return cb(add(path, { mode: S_IFDIR | (mode & 0o7777), links: 0, data: Buffer.alloc(0), size: 0, mtime: t, ctime: t, children: new Set() }));
    },
    rmdir(path: string, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      if (!n.children) return cb(Fuse.ENOTDIR);
      if (n.children.size > 0) return cb(Fuse.ENOTEMPTY);
      remove(path);
      return cb(0);
    },
    symlink(target: string, path: string, cb: Cb) {
      const t = new Date();
      return cb(add(path, { mode: S_IFLNK | 0o777, links: 0, data: Buffer.alloc(0), size: Buffer.byteLength(target), mtime: t, ctime: t, target }));
    },
    readlink(path: string, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      return n.target === undefined ? cb(Fuse.EINVAL) : cb(0, n.target);
    },
    chmod(path: string, mode: number, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      n.mode = (n.mode & ~0o7777) | (mode & 0o7777);
      n.ctime = new Date();
      return cb(0);
    },
    chown(path: string, _uid: number, _gid: number, cb: Cb) {
      return cb(nodes.has(path) ? 0 : Fuse.ENOENT);
    },
    utimens(path: string, _atime: Date, mtime: Date, cb: Cb) {
      const n = nodes.get(path);
      if (!n) return cb(Fuse.ENOENT);
      n.mtime = new Date(mtime);
      return cb(0);
    },
    rename(from: string, to: string, cb: Cb) {
      const n = nodes.get(from);
      if (!n) return cb(Fuse.ENOENT);
      if (n.children) return cb(Fuse.EXDEV); // not needed by the workloads
      if (nodes.has(to)) remove(to);
      remove(from);
      return cb(add(to, n));
    },
    flush(_path: string, _fd: number, cb: Cb) {
      cb(0);
    },
    fsync(_path: string, _fd: number, _datasync: boolean, cb: Cb) {
      cb(0);
    },
    release(_path: string, _fd: number, cb: Cb) {
      cb(0);
    },
    releasedir(_path: string, _fd: number, cb: Cb) {
      cb(0);
    },
    statfs(_path: string, cb: Cb) {
      cb(0, { bsize: 4096, frsize: 4096, blocks: 1 << 30, bfree: 1 << 30, bavail: 1 << 30, files: 1 << 24, ffree: 1 << 24, favail: 1 << 24, fsid: 0, flag: 0, namemax: 255 });
    },
  };

  const Base = Fuse as new (mnt: string, ops: object, opts: object) => object;
  class MinimalFuse extends Base {
    _fuseOptions(): string {
      const base: string = (Fuse.prototype._fuseOptions as () => string).call(this);
      const extra = 'big_writes,fsname=minimal,subtype=minimal';
      return base ? `${base},${extra}` : `-o${extra}`;
    }
  }
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  await new Promise<void>((done) => execFile('fusermount', ['-uz', dir], () => done()));
  const fuse = new MinimalFuse(dir, ops, { timeout: false, mkdir: true }) as unknown as {
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
  };
  await new Promise<void>((done, fail) => fuse.mount((err: Error | null) => (err ? fail(err) : done())));
  let unmounting: Promise<void> | undefined;
  return {
    unmount() {
      unmounting ??= new Promise<void>((done) => {
        fuse.unmount((err: Error | null) => {
          if (!err) return done();
          execFile('fusermount', ['-uz', dir], () => done());
        });
      });
      return unmounting;
    },
  };
}
