// Directories and renames: readdir, mkdir, rmdir, unlink, rename (and libfuse's hidden names of open files).
import { basename } from 'node:path';
import { equalBytes } from '@cafs/kv';
import { HIDDEN_PREFIX, type MountCore } from './mount-core.js';
import { toErrno } from './native.js';
import { cb0, cbCreated } from './ops-answer.js';

export function dirOps(m: MountCore) {
  const fs = m.fs;
  return {
    readdir: (path: string, cb: (err: number, names?: string[]) => void) => {
      m.read(() => fs.readdir(m.current, path)).then(
        (names) => cb(0, ['.', '..', ...names]),
        (err) => cb(toErrno(err)),
      );
    },

    mkdir: (path: string, mode: number, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`mkdir ${path}`, path, m.createAs(path, owner, async (b) => {
        await b.mkdir(path, { mode: mode & 0o7777 });
        m.dirLinks.made(path);
      }), true));
    },

    rmdir: (path: string, cb: (err: number) => void) => {
      cb0(
        cb,
        m.change(`rmdir ${path}`, async (root) => {
          const next = await fs.rmdir(root, path);
          m.dirLinks.removed(path);
          return next;
        }),
      );
    },

    unlink: (path: string, cb: (err: number) => void) => {
      if (m.names.detached.delete(path) || m.names.aliases.delete(path)) {
        // libfuse removing the hidden name of a released, unlinked file.
        return cb(0);
      }
      m.caches.gone(path);
      cb0(
        cb,
        m
          .change(`unlink ${path}`, async (root) => {
            const st = await fs.lstat(root, path, { throwIfNoEntry: false });
            const next = await fs.unlink(root, path);
            // Descriptors still using this name through an alias move on; the inode keeps its number.
            await m.names.nameGoes(root, next, path, st);
            return next;
          })
          .then(() => m.emit('unlinked', { path })),
      );
    },

    rename: (src: string, dest: string, cb: (err: number) => void) => {
      if (basename(dest).startsWith(HIDDEN_PREFIX)) {
        // libfuse hides a file that is unlinked (or replaced) while open: take the name out of
        // the tree now; its descriptors keep using another name of the file if it has one, else
        // a private root, until release (see nameGoes).
        cb0(
          cb,
          m.change(`unlink ${src}`, async (root) => {
            const moved = m.names.detached.get(src);
            if (moved !== undefined) {
              m.names.detached.delete(src);
              m.names.detached.set(dest, moved);
              return root;
            }
            const aliased = m.names.aliases.get(src);
            if (aliased !== undefined) {
              m.names.aliases.delete(src);
              m.names.aliases.set(dest, aliased);
              return root;
            }
            const st = await fs.lstat(root, src, { throwIfNoEntry: false });
            const next = await fs.unlink(root, src);
            m.caches.gone(src);
            await m.names.nameGoes(root, next, src, st, dest);
            m.emit('unlinked', { path: src });
            return next;
          }),
        );
        return;
      }
      cb0(
        cb,
        m
          .change(`rename ${src} -> ${dest}`, async (root) => {
            const [from, replaced] = await Promise.all([fs.lstat(root, src, { throwIfNoEntry: false }), fs.lstat(root, dest, { throwIfNoEntry: false })]);
            const next = await fs.rename(root, src, dest);
            // Onto another name of the same inode: nothing changed (POSIX).
            if (equalBytes(next, root)) return next;
            if (from?.type === 'directory') m.dirLinks.moved(src, dest, replaced !== undefined);
            // The name replaced goes (its aliases move on), then aliases of the moved names follow.
            if (replaced !== undefined) await m.names.nameGoes(root, next, dest, replaced);
            m.names.moveAliases(src, dest);
            // A hard-linked file renamed may change its least name: it keeps its number.
            if (from !== undefined && from.type !== 'directory' && (from.nlink > 1 || m.inos.has(from.ino))) {
              m.inos.carry(from.ino, (await fs.lstat(next, dest)).ino);
            }
            return next;
          })
          .then(() => {
            m.caches.moved(src, dest);
            m.emit('renamed', { from: src, to: dest });
          }),
      );
    },
  };
}
