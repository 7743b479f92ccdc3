// The node:fs/promises operations as functions of one @cafs/fs Batch, so a Drive (one batch per
// call) and a DriveBatch (one batch for many calls) share them.
import { constants } from 'node:fs';
import { FsError, type Batch, type Data, type DirEntry, type Stats, type Time } from '@cafs/fs';
import { driveError, encodingOf, normalize, parseMode, showPath, toBytes, type Encoding } from './util.js';

type P = string | Uint8Array;

/** New files and directories get their mode less these bits, as under the usual umask. */
export const UMASK = 0o022;

/** What read operations need: a Batch, or a reader on a root. */
export interface Reader {
  stat(path: P): Promise<Stats>;
  lstat(path: P): Promise<Stats>;
  exists(path: P): Promise<boolean>;
  readdirWithTypes(path: P): Promise<DirEntry[]>;
  readFile(path: P): Promise<Uint8Array>;
  read(path: P, options?: { offset?: number | bigint; length?: number }): Promise<Uint8Array>;
  readlink(path: P): Promise<string>;
}

export interface WriteFileOptions {
  encoding?: Encoding;
  mode?: number | string;
  flag?: string | number;
  signal?: AbortSignal;
}

export interface MkdirOptions {
  recursive?: boolean;
  mode?: number | string;
}

export interface CpOptions {
  recursive?: boolean;
  force?: boolean;
  errorOnExist?: boolean;
  filter?: (src: string, dest: string) => boolean | Promise<boolean>;
}

const isCode = (err: unknown, ...codes: string[]): boolean => err instanceof FsError && codes.includes(err.code);

/** Data in any form node:fs writes, as @cafs/fs takes it. */
export function toData(data: unknown, encoding: Encoding): Data {
  if (typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer) return toBytes(data, encoding);
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    const src = data as AsyncIterable<unknown>;
    return (async function* () {
      for await (const piece of src) yield toBytes(piece, encoding);
    })();
  }
  throw driveError('EINVAL', 'write', undefined, 'data must be a string, Buffer, TypedArray, DataView or (async) iterable');
}

async function gather(data: Data): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return Buffer.from(data);
  const parts: Uint8Array[] = [];
  for await (const p of data as AsyncIterable<Uint8Array>) parts.push(p);
  return Buffer.concat(parts);
}

/** A writeFile/appendFile flag, as one of the few cases that differ. */
export function writeFlag(flag: string | number | undefined, fallback: 'w' | 'a'): 'w' | 'wx' | 'a' | 'ax' | 'r+' {
  if (flag === undefined) return fallback;
  if (typeof flag === 'number') {
    const excl = (flag & constants.O_EXCL) !== 0;
    if (flag & constants.O_APPEND) return excl ? 'ax' : 'a';
    if (flag & constants.O_TRUNC || flag & constants.O_CREAT) return excl ? 'wx' : 'w';
    return 'r+';
  }
  const f = flag.replace(/s/g, '').replace('+', '');
  if (f === 'w') return 'w';
  if (f === 'wx' || f === 'xw') return 'wx';
  if (f === 'a') return 'a';
  if (f === 'ax' || f === 'xa') return 'ax';
  if (f === 'r') return 'r+';
  throw driveError('EINVAL', 'open', undefined, `invalid flag ${flag}`);
}

export async function writeFile(b: Batch, path: P, data: unknown, options: WriteFileOptions | BufferEncoding | undefined, fallback: 'w' | 'a' = 'w'): Promise<void> {
  const o: WriteFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
  o.signal?.throwIfAborted();
  const d = toData(data, encodingOf(o));
  const mode = parseMode(o.mode, 0o666) & ~UMASK & 0o7777;
  const flag = writeFlag(o.flag, fallback);
  switch (flag) {
    case 'w':
    case 'wx':
      return b.writeFile(path, d, { mode, flag, signal: o.signal });
    case 'a':
    case 'ax':
      if (await b.exists(path)) {
        if (flag === 'ax') throw driveError('EEXIST', 'open', showPath(path));
        return b.appendFile(path, d);
      }
      return b.writeFile(path, d, { mode, flag: 'wx', signal: o.signal });
    case 'r+': {
      const st = await b.stat(path).catch((err: unknown) => {
        if (isCode(err, 'ENOENT')) throw driveError('ENOENT', 'open', showPath(path));
        throw err;
      });
      if (st.type === 'directory') throw driveError('EISDIR', 'open', showPath(path));
      return b.write(path, 0, await gather(d));
    }
  }
}

/** mkdir; with `recursive`, returns the first directory created (undefined if none), as Node. */
export async function mkdir(b: Batch, path: P, options: MkdirOptions | number | string | undefined): Promise<string | undefined> {
  const o: MkdirOptions = typeof options === 'object' && options !== null ? options : { mode: options };
  const mode = parseMode(o.mode, 0o777) & ~UMASK & 0o7777;
  if (!o.recursive) {
    await b.mkdir(path, { mode });
    return undefined;
  }
  let first: string | undefined;
  let prefix = '';
  for (const part of normalize(path).split('/').filter((x) => x !== '')) {
    prefix += '/' + part;
    if (part === '..') continue;
    if (!(await b.exists(prefix))) {
      first = prefix;
      break;
    }
  }
  await b.mkdir(path, { recursive: true, mode });
  return first;
}

export async function copyFile(b: Batch, src: P, dest: P, mode = 0): Promise<void> {
  const fail = (err: unknown): never => {
    if (err instanceof FsError) throw driveError(err.code, 'copyfile', showPath(src), undefined, showPath(dest));
    throw err;
  };
  // In the order Linux meets them: open the source, open (create) the destination, copy.
  const st = await b.stat(src).catch(fail);
  let dst: Stats | undefined;
  try {
    dst = await b.stat(dest);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) fail(err);
    const parent = normalize(dest).replace(/\/[^/]*$/, '') || '/';
    const pst = await b.stat(parent).catch(fail);
    if (pst.type !== 'directory') fail(driveError('ENOTDIR', 'copyfile'));
  }
  if (dst !== undefined && mode & constants.COPYFILE_EXCL) fail(driveError('EEXIST', 'copyfile'));
  if (dst !== undefined && dst.type === 'directory') fail(driveError('EISDIR', 'copyfile'));
  if (st.type === 'directory') fail(driveError('EISDIR', 'copyfile'));
  await b.copy(src, dest);
}

/** node:fs cp: files, symbolic links (as links), and directories merged into existing ones. */
export async function cp(b: Batch, src: P, dest: P, o: CpOptions = {}): Promise<void> {
  const s = normalize(src);
  const d = normalize(dest);
  if (o.filter && !(await o.filter(s, d))) return;
  const st = await b.lstat(s);
  const force = o.force ?? true;
  let dst: Stats | undefined;
  try {
    dst = await b.lstat(d);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
  if (st.type === 'directory') {
    if (!o.recursive) throw driveError('EISDIR', 'cp', s, 'is a directory (use recursive)');
    if (d === s || d.startsWith(s + '/')) throw driveError('EINVAL', 'cp', s, 'cannot copy a directory into itself', d);
    if (dst === undefined && o.filter === undefined) return b.copy(s, d, { recursive: true });
    if (dst === undefined) await b.mkdir(d, { mode: st.mode & 0o7777 });
    else if (dst.type !== 'directory') throw driveError('ENOTDIR', 'cp', d);
    for (const e of await b.readdirWithTypes(s)) await cp(b, `${s === '/' ? '' : s}/${e.name}`, `${d === '/' ? '' : d}/${e.name}`, o);
    return;
  }
  if (dst !== undefined) {
    if (dst.type === 'directory') throw driveError('EISDIR', 'cp', d);
    if (!force) {
      if (o.errorOnExist) throw driveError('EEXIST', 'cp', d);
      return;
    }
  }
  if (st.type === 'symlink') {
    const target = await b.readlink(s);
    if (dst !== undefined) await b.unlink(d);
    return b.symlink(target, d);
  }
  return b.copy(s, d);
}

export async function rmdir(b: Batch, path: P, options?: { recursive?: boolean }): Promise<void> {
  if (options?.recursive) return b.rm(path, { recursive: true });
  return b.rmdir(path);
}

export function toTime(t: Time | string): Time {
  if (typeof t === 'string') {
    const n = Number(t);
    if (!Number.isFinite(n)) throw driveError('EINVAL', 'utime', undefined, `invalid time ${t}`);
    return n;
  }
  return t;
}

/** realpath: every symbolic link along the path followed, `..` resolved. */
export async function realpath(r: Reader, path: P): Promise<string> {
  const todo = showPath(path).split('/').filter((x) => x !== '' && x !== '.');
  const out: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      out.pop();
      continue;
    }
    const cur = '/' + [...out, c].join('/');
    let st: Stats;
    try {
      st = await r.lstat(cur);
    } catch (err) {
      if (err instanceof FsError) throw driveError(err.code, 'realpath', showPath(path));
      throw err;
    }
    if (st.type === 'symlink') {
      if (++hops > 40) throw driveError('ELOOP', 'realpath', showPath(path));
      const target = await r.readlink(cur);
      if (target.startsWith('/')) out.length = 0;
      todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
    } else {
      if (todo.length > 0 && st.type !== 'directory') throw driveError('ENOTDIR', 'realpath', showPath(path));
      out.push(c);
    }
  }
  return '/' + out.join('/');
}

/** rm: `force` ignores only a missing path, as Node (a file in the way is still ENOTDIR). */
export async function rm(b: Batch, path: P, options?: { recursive?: boolean; force?: boolean }): Promise<void> {
  const force = options?.force ?? false;
  if (force) {
    try {
      await b.lstat(path);
    } catch (err) {
      if (isCode(err, 'ENOTDIR')) throw driveError('ENOTDIR', 'rm', showPath(path));
    }
  }
  return b.rm(path, { recursive: options?.recursive ?? false, force });
}

/** rename, with Linux's error order: the source's parent, then the destination's, then the source itself. */
export async function rename(b: Batch, from: P, to: P): Promise<void> {
  for (const p of [from, to]) {
    const parent = normalize(p).replace(/\/[^/]*$/, '') || '/';
    let st: Stats | undefined;
    try {
      st = await b.stat(parent);
    } catch (err) {
      if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) throw driveError(err.code, 'rename', showPath(from), undefined, showPath(to));
      throw err;
    }
    if (st !== undefined && st.type !== 'directory') throw driveError('ENOTDIR', 'rename', showPath(from), undefined, showPath(to));
  }
  // Onto one of its own ancestors: that directory is never empty.
  const f = normalize(from);
  const t = normalize(to);
  if (t !== '/' && f.startsWith(t + '/') && (await b.exists(from))) throw driveError('ENOTEMPTY', 'rename', showPath(from), undefined, showPath(to));
  return b.rename(from, to);
}
