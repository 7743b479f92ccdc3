// File content: create, gathered writes, flush, fsync, release and truncation (write-behind; see mount.ts).
import { FsError } from '@cafs/fs';
import { O_RDWR, type Changed, type MountCore } from './mount-core.js';
import { FuseNative, toErrno } from './native.js';
import { cb0, cbStat, fuseStat, parentHint } from './ops-answer.js';
import { WriteRun } from './write-run.js';

/**
 * The largest file size through the mount: fuse-native passes offsets and sizes as numbers, exact
 * up to 2^53 - 1 (@cafs/fs itself takes 2^63 - 1). Writes and truncations beyond answer EFBIG.
 */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** An appending write at `at`: what fits below MAX_SIZE (EFBIG when nothing does). */
function fitAt(at: number, data: Uint8Array): [Uint8Array, number] {
  if (at >= MAX_SIZE) throw new FsError('EFBIG', 'write');
  const n = Math.min(data.length, MAX_SIZE - at);
  return [n === data.length ? data : data.subarray(0, n), n];
}

export function writeOps(m: MountCore) {
  const fs = m.fs;
  return {
    create: (path: string, mode: number, cb: (err: number, fd?: number, opts?: { stat: object; parent: object | undefined }) => void) => {
      if (m.readOnly) return cb(FuseNative.EROFS);
      // The new file starts a gathered batch: create and the writes that follow (until flush,
      // release or another operation) become one root.
      const owner = m.caller();
      const fd = m.nextFd++;
      const p = m.serial(async (): Promise<Changed | undefined> => {
        await m.seal();
        const { batch, after } = await m.batchForChange();
        try {
          await batch.writeFile(path, new Uint8Array(0), { mode: mode & 0o7777, flag: 'wx' });
          if (owner !== undefined) await batch.lchown(path, owner.uid, owner.gid);
        } catch (err) {
          // Lost a race with another creator: open what is there.
          if (err instanceof FsError && err.code === 'EEXIST') return undefined;
          throw err;
        }
        m.pending = { path, fd, batch, after, run: undefined, writing: undefined, error: undefined };
        m.caches.markCacheable(path, m.epoch);
        // The new file's attributes go with the answer (libfuse asks for them right after), and
        // its directory's (see cbCreated).
        return { stat: await batch.lstat(path), parent: await m.parentOf(batch, path) };
      }).then((st) => {
        m.handles.set(fd, { append: false, writable: true, root: m.current, epoch: m.epoch });
        m.emit('created', { path });
        m.emit('opened', { path, fd, flags: O_RDWR });
        return st;
      });
      p.then(
        (c) => cb(0, fd, c === undefined ? undefined : { stat: fuseStat(c.stat, m.inos), parent: parentHint(c.parent, m.inos) }),
        (err) => cb(toErrno(err)),
      );
    },

    write: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      if (m.readOnly) return cb(FuseNative.EROFS);
      // Beyond MAX_SIZE, fuse-native's offsets (numbers) are no longer exact: as Linux at its
      // file size limit, a write that starts there fails with EFBIG and one that reaches past
      // it writes what fits.
      if (pos >= MAX_SIZE) return cb(FuseNative.EFBIG);
      let n = Math.min(len, MAX_SIZE - pos);
      // A view valid until we answer (fuse-native trims it to the write): copied (into the run) before that.
      let data: Uint8Array = buf.length === n ? buf : buf.subarray(0, n);
      const h = m.handles.get(fd);
      const d = m.names.detached.get(path);
      let p: Promise<unknown>;
      if (d !== undefined) {
        p = m.serial(async () => {
          const at = h?.append ? (await fs.stat(d.root, d.path)).size : pos;
          if (h?.append) [data, n] = fitAt(Number(at), data);
          d.root = await fs.write(d.root, d.path, at, data);
        });
      } else {
        p = m.serial(async () => {
          if (m.pending !== undefined && (m.pending.path !== path || m.pending.fd !== fd)) await m.seal();
          if (m.pending === undefined) {
            const { batch, after } = await m.batchForChange();
            m.pending = { path, fd, batch, after, run: undefined, writing: undefined, error: undefined };
          }
          const pending = m.pending;
          let at = pos;
          if (h?.append) {
            await m.drain(pending);
            at = Number((await pending.batch.stat(path)).size);
            [data, n] = fitAt(at, data);
          }
          if (pending.error !== undefined) m.failed(pending);
          const run = pending.run;
          if (run !== undefined && run.extends(at, n)) return run.append(data);
          if (run !== undefined && at !== run.end) await m.drain(pending);
          else {
            // At most one run in flight: wait for it before starting this one.
            await pending.writing;
            if (pending.error !== undefined) m.failed(pending);
            m.startWriting(pending);
          }
          pending.run = new WriteRun(at, data, m.slabs);
        });
      }
      p.then(
        () => cb(n),
        (err) => cb(toErrno(err)),
      );
    },

    flush: (path: string, fd: number, cb: (err: number) => void) => {
      if (m.readOnly) return cb(0);
      // With the patched fuse-native, reached only while some descriptor holds a write
      // failure (see `unreported`); without it, on every close.
      const h = m.handles.get(fd);
      const failed = m.takeWriteError(h);
      if (failed !== undefined) return cb(toErrno(failed));
      const p = m.pending;
      if (p === undefined || p.fd !== fd || h === undefined) return cb(0);
      // Write-behind, as the page cache of a local filesystem: close() returns while the
      // gathered writes become a root, between later requests. A failure is reported by the
      // next fsync or close of this descriptor and by a `writeFailed` event.
      cb(0);
      m.serial(() => m.seal()).catch((err: unknown) => {
        m.setWriteError(h, err);
        m.failedBehind(path, err);
      });
    },

    fsync: (_path: string, _datasync: number, fd: number, cb: (err: number) => void) => {
      if (m.readOnly) return cb(0);
      cb0(
        cb,
        m.serial(() => m.settle()).then(() => {
          const failed = m.takeWriteError(m.handles.get(fd));
          if (failed !== undefined) throw failed;
        }),
      );
    },

    fsyncdir: (path: string, _datasync: number, _fd: number, cb: (err: number) => void) => {
      if (m.readOnly) return cb(0);
      // fsync of the mount's root directory commits a branch mount (a save point).
      cb0(cb, path === '/' && m.commits !== undefined ? m.commit() : m.serial(() => m.settle()));
    },

    release: (path: string, fd: number, cb: (err: number) => void) => {
      // A failure still unreported goes with the handle (close has returned; the
      // `writeFailed` event told of it).
      m.takeWriteError(m.handles.get(fd));
      m.handles.delete(fd);
      const closed = (): void => m.emit('closed', { path, fd });
      if (m.readOnly) {
        closed();
        return cb(0);
      }
      // `closed` once what was written through it is a root.
      cb0(
        cb,
        // Only this descriptor's gathered writes: another file's keep gathering (a release
        // arrives in the background, e.g. between the next file's create and its write).
        m.serial(async () => {
          if (m.pending?.fd === fd) await m.seal();
        }).then(() => void m.rootsMade().then(closed)),
      );
    },

    truncate: (path: string, size: number, cb: (err: number, st?: object) => void) => {
      if (size > MAX_SIZE) return cb(FuseNative.EFBIG);
      cbStat(m, cb, m.fileChange(path, 'truncate', (b, p) => b.truncate(p, size)));
    },

    ftruncate: (path: string, _fd: number, size: number, cb: (err: number, st?: object) => void) => {
      if (size > MAX_SIZE) return cb(FuseNative.EFBIG);
      cbStat(m, cb, m.fileChange(path, 'truncate', (b, p) => b.truncate(p, size)));
    },

  };
}
