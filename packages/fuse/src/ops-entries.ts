// Entries of directories: unlink, rename (and libfuse's hidden names of open files), link, mkdir, mknod, symlink, rmdir.
import { basename } from 'node:path';
import type { Batch } from '@cafs/fs';
import { equalBytes } from '@cafs/kv';
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
      if (m.detached.delete(path) || m.aliases.delete(path)) {
        // libfuse removing the hidden name of a released, unlinked file.
        return cb(0);
      }
      m.cacheable.delete(path);
      m.shared.delete(path);
      cb0(
        cb,
        m
          .change(`unlink ${path}`, async (root) => {
            const st = await fs.lstat(root, path, { throwIfNoEntry: false });
            const next = await fs.unlink(root, path);
            // Descriptors still using this name through an alias move on; the inode keeps its number.
            await m.nameGoes(root, next, path, st);
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
            const moved = m.detached.get(src);
            if (moved !== undefined) {
              m.detached.delete(src);
              m.detached.set(dest, moved);
              return root;
            }
            const aliased = m.aliases.get(src);
            if (aliased !== undefined) {
              m.aliases.delete(src);
              m.aliases.set(dest, aliased);
              return root;
            }
            const st = await fs.lstat(root, src, { throwIfNoEntry: false });
            const next = await fs.unlink(root, src);
            m.cacheable.delete(src);
            m.shared.delete(src);
            await m.nameGoes(root, next, src, st, dest);
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
            if (replaced !== undefined) await m.nameGoes(root, next, dest, replaced);
            m.moveAliases(src, dest);
            // A hard-linked file renamed may change its least name: it keeps its number.
            if (from !== undefined && from.type !== 'directory' && (from.nlink > 1 || m.inos.has(from.ino))) {
              m.inos.carry(from.ino, (await fs.lstat(next, dest)).ino);
            }
            return next;
          })
          .then(() => {
            m.moveCacheable(src, dest);
            m.moveShared(src, dest);
            m.emit('renamed', { from: src, to: dest });
          }),
      );
    },

    link: (src: string, dest: string, cb: (err: number) => void) => {
      // A hidden name with no other name left (see nameGoes) has no inode in the tree to name
      // again: as Linux refuses to link a file whose link count fell to 0.
      if (m.detached.has(src)) return cb(FuseNative.ENOENT);
      // The kernel keeps attributes and pages per name: both names are opened with direct_io
      // from now on (see open, MountCore.shared).
      m.cacheable.delete(src);
      m.cacheable.delete(dest);
      m.markShared(src);
      m.markShared(dest);
      // Write-behind, as mkdir: answered once applied to a batch (gathered writes to the file
      // become their own root first, so the new name shows them); libfuse then asks for the new
      // name's attributes, answered from that batch.
      const apply = async (b: Batch): Promise<void> => {
        const before = await b.lstat(src, { throwIfNoEntry: false });
        await b.link(src, dest);
        // The inode now lives at the least of its names: if that is the new one, it keeps its number.
        if (before !== undefined) m.inos.carry(before.ino, (await b.lstat(dest)).ino);
      };
      cb0(
        cb,
        m.changeBehindIn(`link ${src} -> ${dest}`, dest, apply, false).then(() => m.emit('linked', { from: src, to: dest })),
      );
    },

    mkdir: (path: string, mode: number, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`mkdir ${path}`, path, m.createAs(path, owner, async (b) => {
        await b.mkdir(path, { mode: mode & 0o7777 });
        m.dirLinks.made(path);
      }), true));
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
      cb0(
        cb,
        m.change(`rmdir ${path}`, async (root) => {
          const next = await fs.rmdir(root, path);
          m.dirLinks.removed(path);
          return next;
        }),
      );
    },

    symlink: (target: string, path: string, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`symlink ${path}`, path, m.createAs(path, owner, (b) => b.symlink(target, path)), true));
    },

  };
}
