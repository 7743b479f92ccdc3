// Lookup and attributes: statfs, getattr, and changes of mode, owner and times.
import type { MountCore } from './mount-core.js';
import { FuseNative, timeNs, toErrno, type Timespec } from './native.js';
import { cbStat, fuseStat } from './ops-answer.js';

export function attrOps(m: MountCore) {
  const getattr = (path: string, cb: (err: number, st?: object) => void): void => {
    m.statOf(path).then(
      (st) => {
        if (st === undefined) return cb(FuseNative.ENOENT);
        m.caches.sawAttrs(path, st);
        cb(0, fuseStat(st, m.inos));
      },
      (err) => cb(toErrno(err)),
    );
  };
  return {
    statfs: (_path: string, cb: (err: number, st?: object) => void) => {
      cb(0, { bsize: 4096, frsize: 4096, blocks: 0x7fffffff, bfree: 0x7fffffff, bavail: 0x7fffffff, files: 0x7fffffff, ffree: 0x7fffffff, favail: 0x7fffffff, fsid: 0, flag: 0, namemax: 255 });
    },

    getattr: (path: string, cb: (err: number, st?: object) => void) => getattr(path, cb),

    fgetattr: (path: string, _fd: number, cb: (err: number, st?: object) => void) => getattr(path, cb),

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
  };
}
