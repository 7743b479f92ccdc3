// Metadata: mode, owner, times and extended attributes (and the mount's own user.cafs.* names).
import { bytesToHex } from '@cafs/kv';
import { COMMIT_XATTR, ROOT_XATTR, XATTR_CREATE, XATTR_REPLACE, type MountCore } from './mount-core.js';
import { FuseNative, timeNs, toErrno, type Timespec } from './native.js';
import { cb0, cbStat } from './ops-answer.js';

export function attrOps(m: MountCore) {
  const fs = m.fs;
  return {
    chmod: (path: string, mode: number, cb: (err: number, st?: object) => void) => {
      cbStat(m, cb, m.fileChange(path, 'chmod', (b, p) => b.chmod(p, mode & 0o7777)));
    },

    chown: (path: string, uid: number, gid: number, cb: (err: number, st?: object) => void) => {
      const u = uid === 0xffffffff ? -1 : uid;
      const g = gid === 0xffffffff ? -1 : gid;
      cbStat(m, cb, m.fileChange(path, 'chown', (b, p) => b.lchown(p, u, g)));
    },

    utimens: (path: string, atime: Timespec | number, mtime: Timespec | number, cb: (err: number, st?: object) => void) => {
      // Either time may be UTIME_OMIT (undefined: left as it is) or UTIME_NOW.
      const now = BigInt(Date.now()) * 1_000_000n;
      const a = timeNs(atime, now);
      const mt = timeNs(mtime, now);
      if (a === undefined && mt === undefined) return cb(0);
      cbStat(m, cb, m.fileChange(path, 'utimens', (b, p) => b.lutimes(p, a, mt)));
    },

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
