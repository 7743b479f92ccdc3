// Files: open (which keeps or drops the kernel's pages) and read, through the mount's newest root.
import { FsError } from '@cafs/fs';
import { O_ACCMODE, O_APPEND, O_RDWR, O_TRUNC, O_WRONLY, type MountCore } from './mount-core.js';
import { FuseNative, toErrno } from './native.js';

export function readOps(m: MountCore) {
  const fs = m.fs;
  return {
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
        if (st.nlink > 1 || m.caches.isShared(path)) {
          // A file with several names (or that had them): the kernel keeps pages and a size per
          // name, and a change through one name leaves another's stale. Reads and writes of
          // such a file skip the page cache (direct_io), so they reach the tree.
          m.caches.uncache(path);
          if (st.nlink > 1) m.caches.markShared(path);
          return { fd, keepCache: false, directIo: true };
        }
        // Keep the kernel's pages of this file if only this mount's requests changed it since.
        const keepCache = w.detached === undefined && m.caches.keepsPages(path, m.epoch);
        if (w.detached === undefined) m.caches.markCacheable(path, m.epoch);
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
