// Refs given as URLs a `cafs serve` answers (http://host:port/r/<root>/path, .../b/<branch>/path):
// read lazily, each blob fetched on first use, verified, and kept in a bounded cache.
import { bytesToHex } from '@cafs/kv';
import { HttpRemote, MemoryNameStore, RemoteBlobStore, Repo } from '@cafs/repo';
import { CliError } from './errors.js';
import { clientToken } from './remotes.js';

export const isUrlRef = (spec: string): boolean => /^https?:\/\//.test(spec);

export interface UrlRef {
  /** The server, e.g. http://host:8080 (anything before /r/ or /b/ included). */
  base: string;
  kind: 'r' | 'b';
  /** A root or commit hash (r), or a branch name (b). */
  name: string;
  path: string;
}

export function parseUrlRef(spec: string): UrlRef {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new CliError(`not a URL: ${spec}`);
  }
  const segs = url.pathname.split('/');
  const at = segs.findIndex((s, i) => i > 0 && (s === 'r' || s === 'b') && segs[i + 1] !== undefined && segs[i + 1] !== '');
  if (at < 0) throw new CliError(`${spec}: expected http(s)://host:port/r/<root>[/path] or .../b/<branch>[/path]`);
  const name = decodeURIComponent(segs[at + 1]!);
  if (segs[at] === 'r' && !/^[0-9a-f]{64}$/.test(name)) throw new CliError(`${spec}: a root is 64 lowercase hex digits`);
  const path = '/' + segs.slice(at + 2).filter(Boolean).map(decodeURIComponent).join('/');
  return { base: url.origin + segs.slice(0, at).join('/'), kind: segs[at] as 'r' | 'b', name, path };
}

export interface OpenedUrlRef {
  repo: Repo;
  store: RemoteBlobStore;
  remote: HttpRemote;
  /** A hash `repo.resolve` takes. */
  ref: string;
  path: string;
  parsed: UrlRef;
  /** For a branch URL: the branch's commit now (to follow it). */
  head(): Promise<string>;
}

export async function openUrlRef(spec: string, options: { cacheBytes?: number } = {}): Promise<OpenedUrlRef> {
  const parsed = parseUrlRef(spec);
  const remote = new HttpRemote(parsed.base, { token: clientToken() });
  const store = new RemoteBlobStore(remote, { cacheBytes: options.cacheBytes });
  const repo = new Repo({ store, names: new MemoryNameStore() });
  const head = async (): Promise<string> => {
    if (parsed.kind === 'r') return parsed.name;
    const commit = (await remote.refs()).branches.get(parsed.name);
    if (commit === undefined) throw new CliError(`${parsed.base} has no branch ${parsed.name}`);
    return bytesToHex(commit);
  };
  return { repo, store, remote, ref: await head(), path: parsed.path, parsed, head };
}
