// A node:fs-shaped object over a Drive: `promises` (node:fs/promises names) plus callback forms
// of the same functions, enough for libraries written against node:fs such as isomorphic-git.
import { constants } from 'node:fs';
import type { Drive } from './drive.js';

type AnyFn = (...args: any[]) => Promise<unknown>;

const NAMES = [
  'readFile',
  'writeFile',
  'appendFile',
  'unlink',
  'readdir',
  'mkdir',
  'mkdtemp',
  'rmdir',
  'rm',
  'stat',
  'lstat',
  'readlink',
  'symlink',
  'realpath',
  'chmod',
  'chown',
  'lchown',
  'utimes',
  'lutimes',
  'rename',
  'copyFile',
  'cp',
  'truncate',
  'access',
  'open',
  'link',
] as const;

export type NodeFsPromises = { [K in (typeof NAMES)[number]]: Drive[K] } & { constants: typeof constants };

export interface NodeFsAdapter {
  promises: NodeFsPromises;
  constants: typeof constants;
  createReadStream: Drive['createReadStream'];
  createWriteStream: Drive['createWriteStream'];
  /** Callback forms: fs.readFile(path, [options], (err, data) => ...), and so on. */
  [name: string]: unknown;
}

export function nodeFs(drive: Drive): NodeFsAdapter {
  const promises = { constants } as Record<string, unknown>;
  const out: NodeFsAdapter = {
    promises: promises as NodeFsPromises,
    constants,
    createReadStream: drive.createReadStream.bind(drive),
    createWriteStream: drive.createWriteStream.bind(drive),
  };
  for (const name of NAMES) {
    const fn = (drive[name] as AnyFn).bind(drive);
    promises[name] = fn;
    out[name] = (...args: unknown[]) => {
      const cb = args.pop();
      if (typeof cb !== 'function') throw new TypeError(`The "cb" argument must be of type function. Received ${typeof cb}`);
      fn(...args).then(
        (v) => (cb as (e: unknown, v?: unknown) => void)(null, v),
        (e) => (cb as (e: unknown) => void)(e),
      );
    };
  }
  out.exists = (path: string, cb: (exists: boolean) => void) => {
    drive.exists(path).then(cb, () => cb(false));
  };
  return out;
}
