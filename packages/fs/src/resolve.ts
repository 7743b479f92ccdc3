// Path resolution on a tree, following symbolic links as Linux does.
import { FsError } from './errors.js';
import { CorruptInfoError, decodeInfo, isLinkRecord, linkRecordTarget, type Info } from './info.js';
import { childKey, infoKey, ROOT_KEY } from './keys.js';
import { NOT_CACHED } from '@cafs/kv';
import type { KvReader } from './kv-view.js';
import { isDotDot, pathBytes, showPath, splitPath, type PathLike } from './path.js';

/** Symbolic links followed in one resolution before ELOOP (Linux's MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;

export interface Resolved {
  /** The path's names after resolution. */
  names: Uint8Array[];
  /**
   * Where its info and data live: its info key, or for a hard link's other names the key of the
   * inode's least name (the one that holds them).
   */
  key: Uint8Array;
  /** The info key of the name itself (what unlink and rename change). */
  nameKey: Uint8Array;
  /** Its info, or undefined when the last name does not exist (its parent does, as a directory). */
  info: Info | undefined;
  /** The parent directory's info key (the root's own for the root). */
  parentKey: Uint8Array;
}

/** An entry's info and where it lives (its own key, or a hard link's inode key). */
export interface Found {
  info: Info;
  dataKey: Uint8Array;
}

/** The info at a name, following a hard link's record to its inode. */
export async function readInfo(reader: KvReader, key: Uint8Array): Promise<Info | undefined> {
  return (await readFound(reader, key))?.info;
}

export async function readFound(reader: KvReader, key: Uint8Array): Promise<Found | undefined> {
  const now = readFoundNow(reader, key);
  return now !== NOT_CACHED ? now : loadFound(reader, key);
}

/** readFound from what is at hand (overlays, cached nodes); NOT_CACHED when it must load. */
function readFoundNow(reader: KvReader, key: Uint8Array): Found | undefined | typeof NOT_CACHED {
  const v = reader.peek(key);
  if (v === undefined || v === NOT_CACHED) return v;
  if (!isLinkRecord(v)) return { info: decodeInfo(v), dataKey: key };
  const dataKey = linkRecordTarget(v);
  const w = reader.peek(dataKey);
  if (w === NOT_CACHED) return NOT_CACHED;
  return inode(key, dataKey, w);
}

/** readFound once readFoundNow said NOT_CACHED. */
async function loadFound(reader: KvReader, key: Uint8Array): Promise<Found | undefined> {
  const v = await reader.get(key);
  if (v === undefined) return undefined;
  if (!isLinkRecord(v)) return { info: decodeInfo(v), dataKey: key };
  const dataKey = linkRecordTarget(v);
  return inode(key, dataKey, await reader.get(dataKey));
}

function inode(name: Uint8Array, dataKey: Uint8Array, value: Uint8Array | undefined): Found {
  const info = value === undefined || isLinkRecord(value) ? undefined : decodeInfo(value);
  if (info === undefined) throw new CorruptInfoError(`a hard link (${showKey(name)}) names ${showKey(dataKey)}, which holds no inode`);
  return { info, dataKey };
}

const showKey = (key: Uint8Array): string => new TextDecoder().decode(key);

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
    const now = readFoundNow(reader, key);
    const found = now === NOT_CACHED ? await loadFound(reader, key) : now;
    const info = found?.info;
    if (found !== undefined && !(found.info.type === 'symlink' && (follow || trailingSlash))) {
      if (trailingSlash && found.info.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(path));
      return { names, key: found.dataKey, nameKey: key, info: found.info, parentKey: key.subarray(0, key.length - (names[names.length - 1]?.length ?? -1) - 1) };
    }
    if (info === undefined && names.length > 0) {
      const parentNames = names.slice(0, -1);
      const parentKey = infoKey(parentNames);
      const parentNow = parentNames.length === 0 ? ROOT_FOUND : readFoundNow(reader, parentKey);
      const parent = parentNow === NOT_CACHED ? await loadFound(reader, parentKey) : parentNow;
      if (parent !== undefined && parent.info.type === 'directory') return { names, key, nameKey: key, info: undefined, parentKey };
    }
  }
  return walk(reader, names, path, syscall, follow || trailingSlash, trailingSlash);
}

/** Stand-in for the root's info when only its type matters. */
const ROOT_FOUND = { info: { type: 'directory' } as Info, dataKey: ROOT_KEY };

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
    const found = await readFound(reader, key);
    const info = found?.info;
    if (info === undefined) {
      if (last) return { names: [...cur, name], key, nameKey: key, info: undefined, parentKey: curKey };
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
      return { names: [...cur, name], key: found!.dataKey, nameKey: key, info, parentKey: curKey };
    }
    cur = [...cur, name];
    curKey = key;
    curInfo = info;
  }
  // The path resolved to a directory reached by `..`/links, or the root itself.
  if (curInfo === undefined) throw new FsError('ENOENT', syscall, showPath(path));
  const parentKey = cur.length === 0 ? ROOT_KEY : infoKey(cur.slice(0, -1));
  return { names: cur, key: curKey, nameKey: curKey, info: curInfo, parentKey };
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
