// URL paths to filesystem paths: decoding, `..` that may not climb, symbolic links followed.
import type { Hash } from '@cafs/kv';
import { PATH_MAX, type Fs } from '@cafs/fs';
import { HttpError } from './errors.js';

/** Splits and decodes a URL path; `..` segments may not climb above the root. */
export function cleanPath(segments: string[]): string {
  const out: string[] = [];
  for (const raw of segments) {
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'bad percent-encoding in the path');
    }
    if (s.includes('\0') || s.includes('/')) throw new HttpError(400, 'bad path');
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) throw new HttpError(400, 'the path escapes the root');
      out.pop();
      continue;
    }
    out.push(s);
  }
  const path = '/' + out.join('/');
  if (path.length > PATH_MAX) throw new HttpError(414, 'the path is too long');
  return path;
}

/** Follows symbolic links the way the fs does, to name the file a key belongs to. */
export async function realPath(fs: Fs, root: Hash, path: string, depth = 0): Promise<string> {
  if (depth > 40) throw new HttpError(404, 'too many symbolic links');
  const names = path.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i < names.length; i++) {
    const next = cur + '/' + names[i];
    const st = await fs.lstat(root, next);
    if (st.isSymbolicLink()) {
      const target = await fs.readlink(root, next);
      const base = target.startsWith('/') ? target : cur + '/' + target;
      const rest = names.slice(i + 1).join('/');
      return realPath(fs, root, cleanPath((base + (rest ? '/' + rest : '')).split('/')), depth + 1);
    }
    cur = next;
  }
  return cur || '/';
}
