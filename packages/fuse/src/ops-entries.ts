// Entries of directories: unlink, rename (and libfuse's hidden names of open files), mkdir, mknod, symlink, rmdir.
import { basename } from 'node:path';
import { HIDDEN_PREFIX, type MountCore } from './mount-core.js';
import { FuseNative } from './native.js';
import { cb0, cbCreated } from './ops-answer.js';

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

    mknod: (path: string, mode: number, _dev: number, cb: (err: number, st?: object, parent?: object) => void) => {
      const kind = mode & 0o170000;
      // Named pipes and sockets are entries the kernel gives life to; regular files are empty
      // files. Device nodes are refused: cafs stores no device numbers.
      const type = kind === 0o010000 ? 'fifo' : kind === 0o140000 ? 'socket' : kind === 0o100000 || kind === 0 ? 'file' : undefined;
      if (type === undefined) return cb(FuseNative.EPERM);
      const owner = m.caller();
      const perm = mode & 0o7777;
      cbCreated(
        m,
        cb,
        m.changeBehindIn(
          `mknod ${path}`,
          path,
          m.createAs(path, owner, (b) => (type === 'file' ? b.writeFile(path, new Uint8Array(0), { mode: perm, flag: 'wx' }) : b.mknod(path, type, perm))),
          true,
        ).then((r) => {
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
