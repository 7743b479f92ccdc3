// redis://[user:password@]host:port[,host:port...][/][?prefix=...&timeout=ms&cluster=false]
import { InvalidArgumentError } from '@cafs/kv';

export interface RedisAddress {
  host: string;
  port: number;
}

export interface ParsedRedisUrl {
  tls: boolean;
  nodes: RedisAddress[];
  username: string | undefined;
  password: string | undefined;
  /** From `?prefix=`. */
  prefix: string | undefined;
  /** From `?timeout=` (ms). */
  timeout: number | undefined;
  /** From `?cluster=false`: a single standalone server instead of a cluster. */
  cluster: boolean;
}

/** Parses a Redis connection URL; EINVAL (without the password in the message) if malformed. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`bad Redis URL ${JSON.stringify(redactUrl(url))}: ${why}`);
  };
  if (typeof url !== 'string') bad('not a string');
  const m = /^(rediss?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (m === null) return bad('expected redis://[user:password@]host:port[,host:port...]');
  const tls = m[1]!.toLowerCase() === 'rediss';
  let authority = m[2]!;
  let username: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    try {
      if (colon < 0) username = decodeURIComponent(userinfo);
      else {
        username = decodeURIComponent(userinfo.slice(0, colon));
        password = decodeURIComponent(userinfo.slice(colon + 1));
      }
    } catch {
      bad('bad percent-encoding in the credentials');
    }
    if (username === '') username = undefined;
  }
  if (authority === '') bad('no host');
  const nodes = authority.split(',').map((part): RedisAddress => {
    const hm = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(part);
    if (hm === null) return bad(`bad host ${JSON.stringify(part)}`);
    const port = hm[3] === undefined ? 6379 : Number(hm[3]);
    if (!(port > 0 && port < 65536)) bad(`bad port in ${JSON.stringify(part)}`);
    return { host: hm[1] ?? hm[2]!, port };
  });
  const query = new URLSearchParams(m[4]?.slice(1) ?? '');
  let timeout: number | undefined;
  if (query.has('timeout')) {
    timeout = Number(query.get('timeout'));
    if (!Number.isFinite(timeout) || timeout <= 0) bad('timeout must be a positive number of milliseconds');
  }
  const clusterParam = query.get('cluster');
  if (clusterParam !== null && clusterParam !== 'true' && clusterParam !== 'false') bad('cluster must be true or false');
  const cluster = clusterParam !== 'false';
  if (!cluster && nodes.length > 1) bad('a standalone server (cluster=false) takes one host');
  return { tls, nodes, username, password, prefix: query.get('prefix') ?? undefined, timeout, cluster };
}

/** The URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return String(url);
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
