// Links and special files: hard links, symlinks, named pipes, sockets and device nodes.
import type { Batch } from '@cafs/fs';
import type { MountCore } from './mount-core.js';
import { FuseNative, toErrno } from './native.js';
import { cb0, cbCreated } from './ops-answer.js';

/** mknod's S_IFMT bits and what each makes. */
const MKNOD_TYPES = new Map<number, 'file' | 'fifo' | 'socket' | 'chardev' | 'blockdev'>([
  [0o100000, 'file'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
  [0o020000, 'chardev'],
  [0o060000, 'blockdev'],
]);

export function linkOps(m: MountCore) {
  const fs = m.fs;
  return {
    link: (src: string, dest: string, cb: (err: number) => void) => {
      // A hidden name with no other name left (see nameGoes) has no inode in the tree to name
      // again: as Linux refuses to link a file whose link count fell to 0.
      if (m.names.detached.has(src)) return cb(FuseNative.ENOENT);
      // The kernel keeps attributes and pages per name: both names are opened with direct_io
      // from now on (see open, KernelCaches).
      for (const name of [src, dest]) {
        m.caches.uncache(name);
        m.caches.markShared(name);
      }
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

    symlink: (target: string, path: string, cb: (err: number, st?: object, parent?: object) => void) => {
      const owner = m.caller();
      cbCreated(m, cb, m.changeBehindIn(`symlink ${path}`, path, m.createAs(path, owner, (b) => b.symlink(target, path)), true));
    },

    readlink: (path: string, cb: (err: number, target?: string) => void) => {
      m.read(() => fs.readlink(m.current, path)).then(
        (t) => cb(0, t),
        (err) => cb(toErrno(err)),
      );
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
  };
}
