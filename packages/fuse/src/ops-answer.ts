// How an operation's promise becomes libfuse's callback: an errno, or the attributes to go with it.
import type { Stats } from '@cafs/fs';
import type { Changed, MountCore } from './mount-core.js';
import type { InodeNumbers } from './inode-numbers.js';
import { toErrno } from './native.js';

export const cb0 = (cb: (err: number) => void, p: Promise<unknown>): void => {
  p.then(
    () => cb(0),
    (err: unknown) => cb(toErrno(err)),
  );
};
// The attributes after a change go with its answer: libfuse asks for them right after
// (chmod, chown, utimens, truncate, mkdir, symlink, mknod) and the patched fuse-native
// answers that getattr with them, without another round trip.
export const cbStat = (m: MountCore, cb: (err: number, st?: object) => void, p: Promise<Stats>): void => {
  p.then(
    (st) => cb(0, fuseStat(st, m.inos)),
    (err: unknown) => cb(toErrno(err)),
  );
};
// A new entry: its directory's attributes go too (the kernel's permission check asks for
// them next, default_permissions), answered natively while no other change intervenes.
export const cbCreated = (m: MountCore, cb: (err: number, st?: object, parent?: object) => void, p: Promise<Changed>): void => {
  p.then(
    ({ stat, parent }) => cb(0, fuseStat(stat, m.inos), parentHint(parent, m.inos)),
    (err: unknown) => cb(toErrno(err)),
  );
};


/** Attributes as fuse-native takes them. */
export function fuseStat(st: Stats, inos: InodeNumbers): object {
  // Milliseconds as numbers (fuse-native takes a number or a Date): no Date per answer.
  const mtime = st.mtimeMs;
  return {
    mode: st.mode,
    // The same for every name of one inode (libfuse passes it on: use_ino, see fuse-server.ts).
    ino: inos.of(st),
    uid: st.uid,
    gid: st.gid,
    size: Number(st.size),
    blocks: Number(st.blocks),
    blksize: 4096,
    nlink: st.nlink,
    rdev: st.rdev,
    mtime,
    atime: st.atimeMs,
    ctime: st.ctimeMs,
    // Nanosecond times (read by the patched fuse-native). The access time is the one set
    // explicitly, else the modification time: reads do not change it (see docs/format.md).
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/** The parent directory's attributes as fuse-native takes them with an answer. */
export function parentHint(parent: Changed['parent'], inos: InodeNumbers): object | undefined {
  return parent === undefined ? undefined : { path: parent.path, stat: fuseStat(parent.stat, inos) };
}
