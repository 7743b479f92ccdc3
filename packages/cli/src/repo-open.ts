// Finding and opening the repository: `./.cafs`, found by walking up like git, or `--repo DIR`.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Repo } from '@cafs/repo';
import { CliError } from './errors.js';

/** The socket a process holding the repository answers on (holder.ts). */
export const SOCKET_NAME = 'cafs.sock';

export const REPO_DIR = '.cafs';

/** The repository directory for `start` (walking up), or undefined. */
export function findRepo(start = process.cwd()): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, REPO_DIR);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** `--repo DIR` may name the `.cafs` directory itself or the directory holding it. */
export function repoPath(option: string | undefined): string {
  if (option !== undefined) {
    const p = resolve(option);
    if (existsSync(join(p, REPO_DIR))) return join(p, REPO_DIR);
    if (existsSync(join(p, 'CURRENT'))) return p;
    throw new CliError(`not a cafs repository: ${option}`);
  }
  const found = findRepo();
  if (found === undefined) throw new CliError('not a cafs repository (or any parent): .cafs not found; run `cafs init`');
  return found;
}

/** Opens the repository: on a Redis Cluster with `store` (redis:// or rediss:// URL), else the LevelDB in .cafs. */
export async function openRepo(option: string | undefined, store?: string): Promise<Repo> {
  const author = process.env['CAFS_AUTHOR'] ?? process.env['USER'];
  if (store !== undefined) {
    if (!/^rediss?:\/\//.test(store)) throw new CliError(`unsupported --store ${JSON.stringify(store)}: expected redis://host:port[,host:port...] or rediss://...`);
    const { openRedis } = await import('@cafs/store-redis');
    const { store: blobs, names } = await openRedis(store);
    return new Repo({ store: blobs, names, author });
  }
  const path = repoPath(option);
  try {
    return await Repo.open({ path, author });
  } catch (err) {
    // Held by `cafs serve` or `cafs mount`: go through the holder (see holder.ts).
    const socket = join(path, SOCKET_NAME);
    if (!isLocked(err) || !existsSync(socket)) throw err;
    const { HeldBlobStore, HeldNameStore } = await import('./holder.js');
    return new Repo({ store: new HeldBlobStore(socket), names: new HeldNameStore(socket), author, reflog: false });
  }
}

function isLocked(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string; message?: string } };
  return e.code === 'LEVEL_DATABASE_NOT_OPEN' && (e.cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(e.cause?.message)));
}
