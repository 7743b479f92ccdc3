// Path resolution on a tree, following symbolic links as Linux does.
import { FsError } from './errors.js';
import { decodeInfo, type Info } from './info.js';
import { childKey, infoKey, ROOT_KEY } from './keys.js';
import { NOT_CACHED } from '@cafs/kv';
import type { KvReader } from './kv-view.js';
import { isDotDot, pathBytes, showPath, splitPath, type PathLike } from './path.js';

/** Symbolic links followed in one resolution before ELOOP (Linux's MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;

export interface Resolved {
  /** The path's names after resolution. */
  names: Uint8Array[];
  /** Its info key. */
  key: Uint8Array;
  /** Its info, or undefined when the last name does not exist (its parent does, as a directory). */
  info: Info | undefined;
  /** The parent directory's info key (the root's own for the root). */
  parentKey: Uint8Array;
}

export async function readInfo(reader: KvReader, key: Uint8Array): Promise<Info | undefined> {
  const now = readInfoNow(reader, key);
  return now !== NOT_CACHED ? now : loadInfo(reader, key);
}

/** readInfo from what is at hand (overlays, cached nodes); NOT_CACHED when it must load. */
function readInfoNow(reader: KvReader, key: Uint8Array): Info | undefined | typeof NOT_CACHED {
  const v = reader.peek(key);
  return v === undefined || v === NOT_CACHED ? v : decodeInfo(v);
}

/** readInfo once readInfoNow said NOT_CACHED. */
async function loadInfo(reader: KvReader, key: Uint8Array): Promise<Info | undefined> {
  const v = await reader.get(key);
  return v === undefined ? undefined : decodeInfo(v);
}

/**
 * Resolves `path`. `follow`: whether a symbolic link as the last name is followed (stat) or
 * not (lstat, unlink, rename). Missing intermediate names are ENOENT, files in the middle
 * ENOTDIR, link cycles ELOOP; a missing last name comes back with `info` undefined.
 */
export async function resolve(reader: KvReader, path: PathLike, syscall: string, follow: boolean): Promise<Resolved> {
  const bytes = pathBytes(path);
  const names = splitPath(bytes, syscall, path);
  const trailingSlash = names.length > 0 && bytes[bytes.length - 1] === 0x2f;
  // Fast path: a key that exists has only real directories above it, so no link can be on the way.
  if (!names.some(isDotDot)) {
    const key = infoKey(names);
    const now = readInfoNow(reader, key);
    const info = now === NOT_CACHED ? await loadInfo(reader, key) : now;
    if (info !== undefined && !(info.type === 'symlink' && (follow || trailingSlash))) {
      if (trailingSlash && info.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(path));
      return { names, key, info, parentKey: key.subarray(0, key.length - (names[names.length - 1]?.length ?? -1) - 1) };
    }
    if (info === undefined && names.length > 0) {
      const parentNames = names.slice(0, -1);
      const parentKey = infoKey(parentNames);
      const parentNow = parentNames.length === 0 ? ROOT_DIR : readInfoNow(reader, parentKey);
      const parent = parentNow === NOT_CACHED ? await loadInfo(reader, parentKey) : parentNow;
      if (parent !== undefined && parent.type === 'directory') return { names, key, info: undefined, parentKey };
    }
  }
  return walk(reader, names, path, syscall, follow || trailingSlash, trailingSlash);
}

/** Stand-in for the root's info when only its type matters. */
const ROOT_DIR = { type: 'directory' } as Info;

async function walk(
  reader: KvReader,
  names: Uint8Array[],
  path: PathLike,
  syscall: string,
  follow: boolean,
  trailingSlash: boolean,
): Promise<Resolved> {
  let cur: Uint8Array[] = [];
  let curKey = ROOT_KEY;
  let curInfo = await readInfo(reader, ROOT_KEY);
  const queue = [...names];
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift()!;
    const last = queue.length === 0;
    if (isDotDot(name)) {
      if (cur.length > 0) {
        cur = cur.slice(0, -1);
        curKey = infoKey(cur);
        curInfo = await readInfo(reader, curKey);
      }
      continue;
    }
    const key = childKey(curKey, name);
    const info = await readInfo(reader, key);
    if (info === undefined) {
      if (last) return { names: [...cur, name], key, info: undefined, parentKey: curKey };
      throw new FsError('ENOENT', syscall, showPath(path));
    }
    if (info.type === 'symlink' && (!last || follow)) {
      if (++links > MAX_SYMLINKS) throw new FsError('ELOOP', syscall, showPath(path));
      const target = info.target ?? new Uint8Array(0);
      if (target.length === 0) throw new FsError('ENOENT', syscall, showPath(path));
      if (target[0] === 0x2f) {
        cur = [];
        curKey = ROOT_KEY;
        curInfo = await readInfo(reader, ROOT_KEY);
      }
      queue.unshift(...splitPath(target, syscall));
      continue;
    }
    if (!last && info.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(path));
    if (last) {
      if (trailingSlash && info.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(path));
      return { names: [...cur, name], key, info, parentKey: curKey };
    }
    cur = [...cur, name];
    curKey = key;
    curInfo = info;
  }
  // The path resolved to a directory reached by `..`/links, or the root itself.
  if (curInfo === undefined) throw new FsError('ENOENT', syscall, showPath(path));
  const parentKey = cur.length === 0 ? ROOT_KEY : infoKey(cur.slice(0, -1));
  return { names: cur, key: curKey, info: curInfo, parentKey };
}

/**
 * The info key of a plain absolute path (`/a/b`: no empty, `.` or `..` names, no trailing
 * slash, names within NAME_MAX, no NUL), built in one pass; undefined for anything else, which
 * then takes the full resolution. A string is read directly while it is ASCII (no encoding step).
 */
export function plainInfoKey(path: string | Uint8Array): Uint8Array | undefined {
  const n = path.length;
  if (n < 2 || n > 4096) return undefined;
  const key = new Uint8Array(n + 1);
  if (typeof path === 'string') {
    for (let i = 0; i < n; i++) {
      const c = path.charCodeAt(i);
      if (c >= 0x80) return plainInfoKey(pathBytes(path));
      key[i] = c;
    }
  } else {
    key.set(path);
  }
  key[n] = 0x2f;
  if (key[0] !== 0x2f || key[n - 1] === 0x2f) return undefined;
  let start = 1;
  for (let i = 1; i <= n; i++) {
    const b = key[i]!;
    if (b === 0) return undefined;
    if (b !== 0x2f) continue;
    const len = i - start;
    if (len === 0 || len > 255) return undefined;
    if (key[start] === 0x2e && (len === 1 || (len === 2 && key[start + 1] === 0x2e))) return undefined;
    start = i + 1;
  }
  return key;
}

/** Where the parent's info key ends in a plain info key (just after its last slash but one). */
export function parentKeyEnd(key: Uint8Array): number {
  let slash = key.length - 2;
  while (key[slash] !== 0x2f) slash--;
  return slash + 1;
}
