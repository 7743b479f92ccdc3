// Finding and opening the repository: `./.cafs`, found by walking up like git, or `--repo DIR`.
// A repository's codecs (compression, encryption) are recorded in it; an encrypted one needs
// its secret, from `--key-file FILE`, $CAFS_KEY_FILE or $CAFS_KEY (never an argument).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_ZSTD_LEVEL, MIN_SECRET_BYTES, checkZstdLevel, type CodecOpenOptions } from '@cafs/kv';
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

let keyFileOption: string | undefined;

/** The global `--key-file` (main.ts sets it before a command runs). */
export function setKeyFile(path: string | undefined): void {
  keyFileOption = path;
}

/** An error about the secret: a user error whose `code` says which (ERR_KEY_REQUIRED, ERR_BAD_KEY). */
function keyError(code: string, message: string): CliError {
  return Object.assign(new CliError(message), { code });
}

/**
 * The secret of an encrypted repository, or undefined: the key file given (`--key-file`, else
 * $CAFS_KEY_FILE), else $CAFS_KEY's UTF-8 bytes. A file's bytes are taken whole except one
 * trailing newline, so `CAFS_KEY=$(cat FILE)` gives the same secret. Never printed.
 */
export function readSecret(keyFile = keyFileOption ?? process.env['CAFS_KEY_FILE']): Uint8Array | undefined {
  let secret: Uint8Array | undefined;
  if (keyFile !== undefined && keyFile !== '') {
    let bytes: Buffer;
    try {
      bytes = readFileSync(keyFile);
    } catch (err) {
      throw keyError('ERR_KEY_REQUIRED', `cannot read the key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0a) end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    secret = new Uint8Array(bytes.subarray(0, end));
  } else if (process.env['CAFS_KEY'] !== undefined && process.env['CAFS_KEY'] !== '') {
    secret = new TextEncoder().encode(process.env['CAFS_KEY']);
  }
  if (secret !== undefined && secret.length < MIN_SECRET_BYTES) {
    throw keyError('ERR_BAD_KEY', `the secret is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
  }
  return secret;
}

/** `zstd` or `zstd:LEVEL` (a bare `--compress` is zstd at level 3). */
export function parseCompress(spec: string | boolean | undefined): { level: number } | undefined {
  if (spec === undefined || spec === false) return undefined;
  if (spec === true || spec === 'zstd') return { level: DEFAULT_ZSTD_LEVEL };
  const m = /^zstd:(-?\d+)$/.exec(spec);
  if (m === null) throw new CliError(`--compress takes zstd or zstd:LEVEL (got ${JSON.stringify(spec)})`);
  try {
    return { level: checkZstdLevel(Number(m[1])) };
  } catch (err) {
    throw new CliError(`--compress: ${(err as Error).message}`);
  }
}

/** Key errors from the store, told as the command line's options. */
function explainKeyError(err: unknown): never {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_KEY_REQUIRED') throw keyError(code, 'this repository is encrypted: give its secret with --key-file FILE, $CAFS_KEY_FILE or $CAFS_KEY');
  if (code === 'ERR_BAD_KEY') throw keyError(code, 'wrong secret: this repository was encrypted with another one');
  if (code === 'ERR_CODEC_MISMATCH') throw Object.assign(new CliError((err as Error).message), { code });
  throw err;
}

/**
 * Opens with the codecs the store records; the secret is read (readSecret) only when the store
 * asks for one, so a stray $CAFS_KEY_FILE never stands in the way of a plain repository.
 */
async function withSecret<T>(codecs: CodecOpenOptions | undefined, open: (codecs: CodecOpenOptions) => Promise<T>): Promise<T> {
  try {
    return await open({ ...codecs });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_KEY_REQUIRED' || codecs?.secret !== undefined) explainKeyError(err);
    const secret = readSecret();
    if (secret === undefined) explainKeyError(err);
    return open({ ...codecs, secret }).catch(explainKeyError);
  }
}

/** Opens a repository on disk with its recorded codecs (`codecs` add what `cafs init` asks for). */
export function openLocalRepo(path: string, options: { author?: string | undefined; codecs?: CodecOpenOptions | undefined } = {}): Promise<Repo> {
  return withSecret(options.codecs, (codecs) => Repo.open({ path, author: options.author, codecs }));
}

/** A Redis repository with its recorded codecs, as openLocalRepo. */
export async function openRedisRepo(url: string, options: { author?: string | undefined; codecs?: CodecOpenOptions | undefined } = {}): Promise<Repo> {
  if (!/^rediss?:\/\//.test(url)) throw new CliError(`unsupported --store ${JSON.stringify(url)}: expected redis://host:port[,host:port...] or rediss://...`);
  const { openRedis } = await import('@cafs/store-redis');
  const { store: blobs, names } = await withSecret(options.codecs, (codecs) => openRedis(url, { codecs }));
  return new Repo({ store: blobs, names, author: options.author });
}

/** Opens the repository: on a Redis Cluster with `store` (redis:// or rediss:// URL), else the LevelDB in .cafs. */
export async function openRepo(option: string | undefined, store?: string): Promise<Repo> {
  const author = process.env['CAFS_AUTHOR'] ?? process.env['USER'];
  if (store !== undefined) return openRedisRepo(store, { author });
  const path = repoPath(option);
  try {
    return await openLocalRepo(path, { author });
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
