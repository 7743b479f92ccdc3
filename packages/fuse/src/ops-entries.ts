// Entries of directories: unlink, rename (and libfuse's hidden names of open files), mkdir, mknod, symlink, rmdir.
import { basename } from 'node:path';
import { HIDDEN_PREFIX, type MountCore } from './mount-core.js';
import { FuseNative } from './native.js';
import { cb0, cbCreated } from './ops-answer.js';

/** mknod's S_IFMT bits and what each makes. */
const MKNOD_TYPES = new Map<number, 'file' | 'fifo' | 'socket' | 'chardev' | 'blockdev'>([
  [0o100000, 'file'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
  [0o020000, 'chardev'],
  [0o060000, 'blockdev'],
]);

export function entryOps(m: MountCore) {
  const fs = m.fs;
  return {
    unlink: (path: string, cb: (err: number) => void) => {
      if (m.detached.has(path)) {
        // libfuse removing the hidden name of a released, unlinked file.
        m.detached.delete(path);
        return cb(0);
      }
      m.cacheable.delete(path);
      cb0(cb, m.change(`unlink ${path}`, (root) => fs.unlink(root, path)).then(() => m.emit('unlinked', { path })));
    },

    rename: (src: string, dest: string, cb: (err: number) => void) => {
      if (basename(dest).startsWith(HIDDEN_PREFIX)) {
        // libfuse hides a file that is unlinked (or replaced) while open: keep its content in a
        // private root until release, and take it out of the tree now.
        cb0(
          cb,
          m.change(`unlink ${src}`, async (root) => {
            const moved = m.detached.get(src);
            if (moved !== undefined) {
              m.detached.delete(src);
              m.detached.set(dest, moved);
              return root;
            }
            await fs.lstat(root, src);
            m.cacheable.delete(src);
            m.detached.set(dest, { root, path: src });
            m.emit('unlinked', { path: src });
            return fs.unlink(root, src);
          }),
        );
        return;
      }
      cb0(
        cb,
        m.change(`rename ${src} -> ${dest}`, (root) => fs.rename(root, src, dest)).then(() => {
          m.moveCacheable(src, dest);
          m.emit('renamed', { from: src, to: dest });
        }),
      );
    },

    link: (_src: string, _dest: string, cb: (err: number) => void) => cb(FuseNative.EPERM),

    mkdir: (path: string, mode: number, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`mkdir ${path}`, path, m.createAs(path, owner, (b) => b.mkdir(path, { mode: mode & 0o7777 })), true));
    },

    mknod: (path: string, mode: number, dev: number, cb: (err: number, st?: object, parent?: object) => void) => {
      const kind = mode & 0o170000;
      // Named pipes, sockets and device nodes are entries the kernel gives life to (a device
      // is opened only where the mount allows it: nodev by default); regular files are empty files.
      const type = MKNOD_TYPES.get(kind === 0 ? 0o100000 : kind);
      if (type === undefined) return cb(FuseNative.EINVAL);
      const owner = m.caller();
      const perm = mode & 0o7777;
      const rdev = type === 'chardev' || type === 'blockdev' ? dev : 0;
      cbCreated(
        m,
        cb,
        m
          .changeBehindIn(
            `mknod ${path}`,
            path,
            m.createAs(path, owner, (b) => (type === 'file' ? b.writeFile(path, new Uint8Array(0), { mode: perm, flag: 'wx' }) : b.mknod(path, type, perm, rdev))),
            true,
          )
          .then((r) => {
            m.emit('created', { path });
            return r;
          }),
      );
    },

    rmdir: (path: string, cb: (err: number) => void) => {
      cb0(cb, m.change(`rmdir ${path}`, (root) => fs.rmdir(root, path)));
    },

    symlink: (target: string, path: string, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`symlink ${path}`, path, m.createAs(path, owner, (b) => b.symlink(target, path)), true));
    },

  };
}
