// Finding and opening the repository: `./.cafs`, found by walking up like git, or `--repo DIR`.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Repo } from '@cafs/repo';
import { CliError } from './errors.js';

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

export async function openRepo(option: string | undefined): Promise<Repo> {
  return Repo.open({ path: repoPath(option), author: process.env['CAFS_AUTHOR'] ?? process.env['USER'] });
}
