// Remotes of a repository on disk: names -> URLs in `.cafs/remotes.json`, and opening one.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { HttpRemote, repoRemote, type Remote, type Repo } from '@cafs/repo';
import { CliError } from './errors.js';
import { openLocalRepo, openRedisRepo, repoPath } from './repo-open.js';

export interface RemoteConfig {
  url: string;
}

const file = (repoDir: string): string => join(repoDir, 'remotes.json');

export function readRemotes(repoDir: string): Record<string, RemoteConfig> {
  if (!existsSync(file(repoDir))) return {};
  try {
    return JSON.parse(readFileSync(file(repoDir), 'utf8')) as Record<string, RemoteConfig>;
  } catch (err) {
    throw new CliError(`cannot read ${file(repoDir)}: ${(err as Error).message}`);
  }
}

export function writeRemotes(repoDir: string, remotes: Record<string, RemoteConfig>): void {
  const tmp = file(repoDir) + '.tmp';
  writeFileSync(tmp, JSON.stringify(remotes, null, 2) + '\n');
  renameSync(tmp, file(repoDir));
}

export function checkRemoteName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new CliError(`invalid remote name ${JSON.stringify(name)} (letters, digits, . _ -)`);
  return name;
}

/** A URL as given, normalized: http(s) kept, a path made absolute. */
export function normalizeUrl(url: string): string {
  if (/^https?:\/\//.test(url) || /^rediss?:\/\//.test(url)) return url.replace(/\/+$/, '');
  if (/^[a-z]+:\/\//.test(url)) throw new CliError(`unsupported remote URL ${JSON.stringify(url)}: use http(s)://host:port, a path, or redis://`);
  return resolvePath(url);
}

/** The token pushes present: $CAFS_TOKEN, else the file $CAFS_TOKEN_FILE names. */
export function clientToken(): string | undefined {
  const t = process.env['CAFS_TOKEN'];
  if (t !== undefined && t !== '') return t;
  const f = process.env['CAFS_TOKEN_FILE'];
  return f ? readFileSync(f, 'utf8').trim() : undefined;
}

export interface OpenedRemote {
  remote: Remote;
  /** Round trips and bytes, for HTTP remotes. */
  http: HttpRemote | undefined;
  close(): Promise<void>;
}

/**
 * Opens a remote. A repository (a path, or a Redis Cluster) opens with the codecs it records, so
 * a compressed or encrypted one works as a remote; an encrypted one takes the secret as every
 * command does (--key-file, $CAFS_KEY_FILE, $CAFS_KEY), read only when it asks for one: a plain
 * repository and an encrypted remote, or the other way round, need only the one secret.
 */
export async function openRemote(url: string): Promise<OpenedRemote> {
  if (/^https?:\/\//.test(url)) {
    const http = new HttpRemote(url, { token: clientToken() });
    return { remote: http, http, close: async () => {} };
  }
  const other: Repo = /^rediss?:\/\//.test(url) ? await openRedisRepo(url) : await openLocalRepo(repoPath(url));
  return { remote: repoRemote(other), http: undefined, close: () => other.close() };
}

export { repoPath };
