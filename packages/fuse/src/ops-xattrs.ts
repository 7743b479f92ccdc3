// Extended attributes, and the mount's own names on its root: user.cafs.root (read-only), user.cafs.commit.
import { bytesToHex } from '@cafs/kv';
import { COMMIT_XATTR, ROOT_XATTR, XATTR_CREATE, XATTR_REPLACE, type MountCore } from './mount-core.js';
import { FuseNative, toErrno } from './native.js';
import { cb0 } from './ops-answer.js';

export function xattrOps(m: MountCore) {
  const fs = m.fs;
  return {
    setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: (err: number) => void) => {
      if (path === '/' && name === ROOT_XATTR) return cb(FuseNative.EPERM);
      if (path === '/' && name === COMMIT_XATTR) {
        if (m.commits === undefined) return cb(FuseNative.EPERM);
        return cb0(cb, m.commit(value.toString('utf8')));
      }
      if (!name.startsWith('user.') && !name.startsWith('trusted.')) return cb(FuseNative.EOPNOTSUPP);
      const v = new Uint8Array(value.length);
      v.set(value);
      const fl = flags & XATTR_CREATE ? 'create' : flags & XATTR_REPLACE ? 'replace' : undefined;
      cb0(cb, m.fileChange(path, 'setxattr', (b, p) => b.setxattr(p, name, v, fl === undefined ? {} : { flags: fl })));
    },

    getxattr: (path: string, name: string, _position: number, cb: (err: number, value?: Buffer) => void) => {
      // The kernel asks for security.capability before writes: answer without a round trip
      // through the queue, so it does not break up gathered writes.
      if (!name.startsWith('user.') && !name.startsWith('trusted.')) return cb(FuseNative.ENODATA);
      if (path === '/' && name === ROOT_XATTR) {
        m.currentRoot().then(
          (r) => cb(0, Buffer.from(bytesToHex(r))),
          (err) => cb(toErrno(err)),
        );
        return;
      }
      m.read(async () => {
        const w = m.where(path);
        return fs.getxattr(w.root, w.path, name);
      }).then(
        (v) => cb(0, Buffer.from(v.buffer, v.byteOffset, v.length)),
        (err) => cb(toErrno(err)),
      );
    },

    listxattr: (path: string, cb: (err: number, list?: string[]) => void) => {
      m.read(async () => {
        const w = m.where(path);
        return fs.listxattr(w.root, w.path);
      }).then(
        (names) => cb(0, path === '/' ? [ROOT_XATTR, ...names] : names),
        (err) => cb(toErrno(err)),
      );
    },

    removexattr: (path: string, name: string, cb: (err: number) => void) => {
      if (path === '/' && name === ROOT_XATTR) return cb(FuseNative.EPERM);
      cb0(cb, m.fileChange(path, 'removexattr', (b, p) => b.removexattr(p, name)));
    },
  };
}
