import { FsError } from './errors.js';

/** Longest path accepted, in bytes (Linux PATH_MAX). */
export const PATH_MAX = 4096;
/** Longest single name, in bytes (Linux NAME_MAX). */
export const NAME_MAX = 255;

/** A path as given by a caller: a string (UTF-8) or raw bytes. */
export type PathLike = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SLASH = 0x2f;
const DOT = 0x2e;

export function pathBytes(path: PathLike): Uint8Array {
  if (typeof path !== 'string') return path;
  // Most paths are short ASCII: a plain loop beats TextEncoder's call overhead by far.
  if (path.length <= 256) {
    const out = new Uint8Array(path.length);
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c >= 0x80) return encoder.encode(path);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(path);
}

/** A printable form of a path for error messages. */
export function showPath(path: PathLike): string {
  return typeof path === 'string' ? path : decoder.decode(path);
}

export function isDotDot(name: Uint8Array): boolean {
  return name.length === 2 && name[0] === DOT && name[1] === DOT;
}

/**
 * Splits a path into its names, dropping empty names and `.`; `..` is kept for the resolver,
 * which resolves it against real directories (after following symbolic links), as Linux does.
 * Paths are always taken from the root: `a/b` is `/a/b`.
 */
export function splitPath(path: PathLike, syscall: string, shown: PathLike = path): Uint8Array[] {
  if (typeof path !== 'string' && !(path instanceof Uint8Array)) {
    throw new FsError('EINVAL', syscall, String(path), 'path must be a string or Uint8Array');
  }
  const bytes = pathBytes(path);
  path = shown;
  if (bytes.length === 0) throw new FsError('ENOENT', syscall, '');
  if (bytes.length > PATH_MAX) throw new FsError('ENAMETOOLONG', syscall, showPath(path));
  const names: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length) {
      const b = bytes[i]!;
      if (b === 0) throw new FsError('EINVAL', syscall, showPath(path).replace(/\0/g, '\\0'), 'path contains a NUL byte');
      if (b !== SLASH) continue;
    }
    const len = i - start;
    if (len > 0 && !(len === 1 && bytes[start] === DOT)) {
      if (len > NAME_MAX) throw new FsError('ENAMETOOLONG', syscall, showPath(path));
      names.push(bytes.subarray(start, i));
    }
    start = i + 1;
  }
  return names;
}

/** Checks one name given on its own (e.g. an xattr-free rename target part). */
export function isPlainName(name: Uint8Array): boolean {
  if (name.length === 0 || name.length > NAME_MAX) return false;
  if (name.length === 1 && name[0] === DOT) return false;
  if (isDotDot(name)) return false;
  for (const b of name) if (b === 0 || b === SLASH) return false;
  return true;
}

export function namesToString(names: readonly Uint8Array[]): string {
  return '/' + names.map((n) => decoder.decode(n)).join('/');
}
