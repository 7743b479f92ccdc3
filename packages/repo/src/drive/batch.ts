// drive.batch(): many mutations, one new root. Operations apply at once to a @cafs/fs Batch over
// the drive's root (so each reports its own error); `flush()` lands them as one root. If the drive
// moved meanwhile, the recorded operations are replayed on its new root instead.
import { equalBytes, type Hash } from '@cafs/kv';
import { FsError, type Batch, type Time } from '@cafs/fs';
import type { Drive } from './drive.js';
import * as ops from './ops.js';
import { DriveStats, driveError, encodingOf, fromBytes, normalize, parseMode, toPath, type Encoding, type PathArg } from './util.js';

type P = PathArg;
type Op = (b: Batch) => Promise<unknown>;

/** Streams and iterables can be read only once: gather them, so a replay can write them again. */
async function replayable(data: unknown, options: ops.WriteFileOptions | BufferEncoding | undefined): Promise<unknown> {
  if (typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return data;
  const parts: Uint8Array[] = [];
  for await (const p of ops.toData(data, encodingOf(options)) as AsyncIterable<Uint8Array>) parts.push(p);
  return Buffer.concat(parts);
}

export class DriveBatch {
  private readonly base: Promise<{ root: Hash; live: Batch }>;
  private chain: Promise<unknown>;
  private readonly done: Op[] = [];
  private flushed = false;

  constructor(private readonly drive: Drive) {
    this.base = drive._read(async (root) => ({ root, live: drive.repo.fs.batch(root) }));
    this.chain = this.base.catch(() => undefined);
  }

  private serial<T>(op: (live: Batch) => Promise<T>): Promise<T> {
    const run = this.chain.then(() => this.base).then(({ live }) => op(live));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private op<T>(syscall: string, path: P | undefined, op: (b: Batch) => Promise<T>): Promise<T> {
    if (this.drive.readOnly) return Promise.reject(this.drive.rofs(syscall, path));
    if (this.flushed) return Promise.reject(driveError('EINVAL', syscall, undefined, 'this batch has been flushed'));
    return this.serial(async (live) => {
      const value = await op(live);
      this.done.push(op);
      return value;
    });
  }

  /** Lands every successful operation as one new root of the drive; returns it. */
  async flush(): Promise<Hash> {
    if (this.flushed) throw driveError('EINVAL', 'flush', undefined, 'this batch has been flushed');
    this.flushed = true;
    const { root: base, live } = await this.serial(async () => this.base);
    let out: Hash | undefined;
    await this.drive._replace('flush', async (root) => {
      if (equalBytes(root, base)) out = await live.flush();
      else {
        const b = this.drive.repo.fs.batch(root);
        for (const op of this.done) await op(b);
        out = await b.flush();
      }
      return out;
    });
    return out!;
  }

  // Reads see the batch's own changes.
  async readFile(path: P, options?: { encoding?: Encoding } | BufferEncoding): Promise<Buffer | string> {
    const p = toPath(path);
    return fromBytes(await this.serial((b) => b.readFile(p)), encodingOf(options));
  }
  stat(path: P): Promise<DriveStats> {
    const p = toPath(path);
    return this.serial(async (b) => new DriveStats(await b.stat(p), normalize(p)));
  }
  lstat(path: P): Promise<DriveStats> {
    const p = toPath(path);
    return this.serial(async (b) => new DriveStats(await b.lstat(p), normalize(p)));
  }
  readdir(path: P): Promise<string[]> {
    const p = toPath(path);
    return this.serial((b) => b.readdir(p));
  }
  exists(path: P): Promise<boolean> {
    const p = toPath(path);
    return this.serial((b) => b.exists(p));
  }

  // Changes.
  writeFile(path: P, data: unknown, options?: ops.WriteFileOptions | BufferEncoding): Promise<void> {
    const p = toPath(path);
    const d = replayable(data, options);
    return this.op('open', p, async (b) => ops.writeFile(b, p, await d, options, 'w'));
  }
  appendFile(path: P, data: unknown, options?: ops.WriteFileOptions | BufferEncoding): Promise<void> {
    const p = toPath(path);
    const d = replayable(data, options);
    return this.op('open', p, async (b) => ops.writeFile(b, p, await d, options, 'a'));
  }
  mkdir(path: P, options?: ops.MkdirOptions | number | string): Promise<string | undefined> {
    const p = toPath(path);
    return this.op('mkdir', p, (b) => ops.mkdir(b, p, options));
  }
  rm(path: P, options?: { recursive?: boolean; force?: boolean }): Promise<void> {
    const p = toPath(path);
    return this.op('rm', p, (b) => ops.rm(b, p, options));
  }
  rmdir(path: P, options?: { recursive?: boolean }): Promise<void> {
    const p = toPath(path);
    return this.op('rmdir', p, (b) => ops.rmdir(b, p, options));
  }
  unlink(path: P): Promise<void> {
    const p = toPath(path);
    return this.op('unlink', p, (b) => b.unlink(p));
  }
  rename(from: P, to: P): Promise<void> {
    const f = toPath(from);
    const t = toPath(to);
    return this.op('rename', f, (b) => ops.rename(b, f, t));
  }
  copyFile(src: P, dest: P, mode?: number): Promise<void> {
    const s = toPath(src);
    const d = toPath(dest);
    return this.op('copyfile', d, (b) => ops.copyFile(b, s, d, mode));
  }
  cp(src: P, dest: P, options?: ops.CpOptions): Promise<void> {
    const s = toPath(src);
    const d = toPath(dest);
    return this.op('cp', d, (b) => ops.cp(b, s, d, options));
  }
  link(existing: P, newPath: P): Promise<void> {
    const e = toPath(existing);
    const n = toPath(newPath);
    return this.op('link', n, (b) => b.link(e, n));
  }
  symlink(target: P, path: P): Promise<void> {
    const t = toPath(target);
    const p = toPath(path);
    return this.op('symlink', p, (b) => b.symlink(t, p));
  }
  chmod(path: P, mode: number | string): Promise<void> {
    const p = toPath(path);
    return this.op('chmod', p, (b) => b.chmod(p, parseMode(mode, 0) & 0o7777));
  }
  chown(path: P, uid: number, gid: number): Promise<void> {
    const p = toPath(path);
    return this.op('chown', p, (b) => b.chown(p, uid, gid));
  }
  lchown(path: P, uid: number, gid: number): Promise<void> {
    const p = toPath(path);
    return this.op('lchown', p, (b) => b.lchown(p, uid, gid));
  }
  utimes(path: P, atime: Time | string, mtime: Time | string): Promise<void> {
    const p = toPath(path);
    return this.op('utime', p, (b) => b.utimes(p, ops.toTime(atime), ops.toTime(mtime)));
  }
  lutimes(path: P, atime: Time | string, mtime: Time | string): Promise<void> {
    const p = toPath(path);
    return this.op('lutime', p, (b) => b.lutimes(p, ops.toTime(atime), ops.toTime(mtime)));
  }
  truncate(path: P, len = 0): Promise<void> {
    const p = toPath(path);
    return this.op('truncate', p, (b) => b.truncate(p, len < 0 ? 0 : len));
  }
}

export { FsError };
