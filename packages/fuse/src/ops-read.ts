// Reading operations: attributes, directories, links, open and read (through the mount's newest root).
import { FsError } from '@cafs/fs';
import { O_ACCMODE, O_APPEND, O_RDWR, O_TRUNC, O_WRONLY, type MountCore } from './mount-core.js';
import { FuseNative, toErrno } from './native.js';
import { fuseStat } from './ops-answer.js';

export function readOps(m: MountCore) {
  const fs = m.fs;
  return {
    statfs: (_path: string, cb: (err: number, st?: object) => void) => {
      cb(0, { bsize: 4096, frsize: 4096, blocks: 0x7fffffff, bfree: 0x7fffffff, bavail: 0x7fffffff, files: 0x7fffffff, ffree: 0x7fffffff, favail: 0x7fffffff, fsid: 0, flag: 0, namemax: 255 });
    },

    getattr: (path: string, cb: (err: number, st?: object) => void) => {
      m.statOf(path).then(
        (st) => {
          if (st === undefined) return cb(FuseNative.ENOENT);
          m.sawAttrs(path, st);
          cb(0, fuseStat(st, m.inos));
        },
        (err) => cb(toErrno(err)),
      );
    },

    fgetattr: (path: string, _fd: number, cb: (err: number, st?: object) => void) => {
      m.statOf(path).then(
        (st) => {
          if (st === undefined) return cb(FuseNative.ENOENT);
          m.sawAttrs(path, st);
          cb(0, fuseStat(st, m.inos));
        },
        (err) => cb(toErrno(err)),
      );
    },

    readdir: (path: string, cb: (err: number, names?: string[]) => void) => {
      m.read(() => fs.readdir(m.current, path)).then(
        (names) => cb(0, ['.', '..', ...names]),
        (err) => cb(toErrno(err)),
      );
    },

    readlink: (path: string, cb: (err: number, target?: string) => void) => {
      m.read(() => fs.readlink(m.current, path)).then(
        (t) => cb(0, t),
        (err) => cb(toErrno(err)),
      );
    },

    open: (path: string, flags: number, cb: (err: number, fd?: number, opts?: { keepCache: boolean; directIo: boolean }) => void) => {
      const acc = flags & O_ACCMODE;
      const writable = acc === O_WRONLY || acc === O_RDWR;
      if (writable && m.readOnly) return cb(FuseNative.EROFS);
      const p = (async () => {
        const w = await m.read(async () => m.where(path));
        const st = await fs.stat(w.root, w.path);
        if (writable && st.isDirectory()) throw new FsError('EISDIR', 'open', path);
        if (writable && flags & O_TRUNC && st.size > 0n) await m.fileChange(path, 'truncate', (b, p2) => b.truncate(p2, 0));
        const fd = m.nextFd++;
        m.handles.set(fd, { append: (flags & O_APPEND) !== 0, writable, root: w.root, epoch: m.epoch });
        m.emit('opened', { path, fd, flags });
        if (st.nlink > 1 || m.shared.has(path)) {
          // A file with several names (or that had them): the kernel keeps pages and a size per
          // name, and a change through one name leaves another's stale. Reads and writes of
          // such a file skip the page cache (direct_io), so they reach the tree.
          m.cacheable.delete(path);
          if (st.nlink > 1) m.markShared(path);
          return { fd, keepCache: false, directIo: true };
        }
        // Keep the kernel's pages of this file if only this mount's requests changed it since.
        const keepCache = w.detached === undefined && m.cacheable.get(path) === m.epoch;
        if (w.detached === undefined) m.markCacheable(path);
        return { fd, keepCache, directIo: false };
      })();
      p.then(
        ({ fd, keepCache, directIo }) => cb(0, fd, { keepCache, directIo }),
        (err) => cb(toErrno(err)),
      );
    },

    read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      const h = m.handles.get(fd);
      // Straight into libfuse's buffer (valid until we answer).
      const into = buf.subarray(0, len);
      const answer = (p: Promise<number>): void => {
        p.then(
          (n) => cb(n),
          (err) => cb(toErrno(err)),
        );
      };
      // Opened before a checkout: keeps reading the tree it opened.
      if (h !== undefined && h.epoch !== m.epoch && !h.writable) return answer(m.readFile(h, h.root, path, into, pos));
      answer(
        m.read(() => {
          const w = m.where(path);
          return m.readFile(h, w.root, w.path, into, pos);
        }),
      );
    },

  };
}
