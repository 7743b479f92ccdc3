// What the command modules share: the global options, opening the repository, printing.
import type { Command } from 'commander';
import { bytesToHex, type Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import type { Info } from '@cafs/fs';
import { openRepo } from '../repo-open.js';
import { isUrlRef, openUrlRef } from '../remote-ref.js';

export const hex = (h: Hash): string => bytesToHex(h);
export const out = (s: string): void => {
  process.stdout.write(s + '\n');
};
export const json = (v: unknown): void => out(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x instanceof Uint8Array ? hex(x) : x), 2));

/** The options given before the command: `cafs --repo DIR --memory --store URL <command>`. */
export interface Global {
  repo?: string;
  memory?: boolean;
  store?: string;
}

/** What a command module gets from the program it is registered on. */
export interface Context {
  globals(): Global;
  /** Opens the repository, runs `fn`, closes it. */
  withRepo<T>(fn: (repo: Repo) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on the repository a REF[:PATH] spec reads from: for a URL a `cafs serve` answers
   * (http://host:port/r/<root>/path or .../b/<branch>/path), that server, read lazily; else ours.
   */
  withSpec<T>(spec: string, fn: (repo: Repo, ref: string, path: string) => Promise<T>): Promise<T>;
  out(s: string): void;
  json(v: unknown): void;
}

export function makeContext(program: Command): Context {
  const globals = (): Global => program.opts<Global>();
  const withRepo = async <T>(fn: (repo: Repo) => Promise<T>): Promise<T> => {
    const repo = await openRepo(globals().repo, globals().store);
    try {
      return await fn(repo);
    } finally {
      await repo.close();
    }
  };
  const withSpec = async <T>(spec: string, fn: (repo: Repo, ref: string, path: string) => Promise<T>): Promise<T> => {
    if (isUrlRef(spec)) {
      const u = await openUrlRef(spec);
      try {
        return await fn(u.repo, u.ref, u.path);
      } finally {
        await u.repo.close();
      }
    }
    const { ref, path } = splitRef(spec);
    return withRepo((repo) => fn(repo, ref, path));
  };
  return { globals, withRepo, withSpec, out, json };
}

export function example(cmd: Command, text: string): Command {
  return cmd.addHelpText('after', `\nExample:\n  ${text.split('\n').join('\n  ')}`);
}

export const modeString = (info: { type: string; mode: number }): string => {
  const t = ({ directory: 'd', symlink: 'l', fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b' } as Record<string, string>)[info.type] ?? '-';
  const m = info.mode & 0o777;
  const rwx = (b: number): string => (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-');
  return t + rwx(m >> 6) + rwx((m >> 3) & 7) + rwx(m & 7);
};
export const timeString = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').slice(0, 19);

export function splitRef(spec: string): { ref: string; path: string } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { ref: spec, path: '/' };
  return { ref: spec.slice(0, colon), path: spec.slice(colon + 1) || '/' };
}

export async function resolveRoot(repo: Repo, ref: string): Promise<{ root: Hash; commit: Hash | undefined }> {
  const r = await repo.resolve(ref);
  return { root: r.root, commit: r.commit };
}

export const normPath = (p: string): string => {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return '/' + parts.join('/');
};

export function summarizeInfo(info: Info | undefined): Record<string, unknown> | undefined {
  if (info === undefined) return undefined;
  return { type: info.type, mode: info.mode, size: Number(info.size), mtimeNs: String(info.mtimeNs), target: info.target ? new TextDecoder().decode(info.target) : undefined };
}
