// The reflog: every move of a branch (created, moved, deleted) recorded in the names table, so
// that a deleted branch or a head lost to a forced update can be found again (`cafs reflog`,
// `main@{1}`). An entry is the name `refs/logs/<branch>:<20-digit ns>:<kind>` holding the commit
// the branch held after the move (for a deletion: the one it held before). Entries keep their
// commit and its history through gc until they expire (gc's `reflogExpireMs`, default 30 days).
import { equalBytes, type Hash } from '@cafs/kv';
import type { NameStore } from './names.js';
import { BRANCH_PREFIX, REFLOG_PREFIX } from './ref-names.js';

export type ReflogKind = 'create' | 'update' | 'delete';

export interface ReflogEntry {
  branch: string;
  /** When the branch moved, in nanoseconds since the epoch. */
  timeNs: bigint;
  kind: ReflogKind;
  /** The commit the branch held after the move; for 'delete', the one it held before. */
  commit: Hash;
  /** The entry's own name in the names table. */
  name: string;
}

export const DEFAULT_REFLOG_EXPIRE_MS = 30 * 24 * 3600 * 1000;

const KINDS: readonly string[] = ['create', 'update', 'delete'];

const entryName = (branch: string, timeNs: bigint, kind: ReflogKind): string =>
  `${REFLOG_PREFIX}${branch}:${timeNs.toString().padStart(20, '0')}:${kind}`;

/** The entry a reflog name stands for (undefined for a name that is not one). */
export function parseReflogName(name: string, commit: Hash): ReflogEntry | undefined {
  // Branch names never hold ':' (checkName), so the last two fields are unambiguous.
  const m = /^(.+):(\d{20}):([a-z]+)$/.exec(name.slice(REFLOG_PREFIX.length));
  if (!name.startsWith(REFLOG_PREFIX) || m === null || !KINDS.includes(m[3]!)) return undefined;
  return { branch: m[1]!, timeNs: BigInt(m[2]!), kind: m[3] as ReflogKind, commit, name };
}

/**
 * A names table that records each successful compare-and-swap of a branch in the reflog. The
 * record follows the swap (a crash in between loses one entry, never a branch).
 */
export class LoggedNameStore implements NameStore {
  private lastNs = 0n;

  constructor(
    readonly inner: NameStore,
    private readonly now: () => bigint,
  ) {}

  get(name: string): Promise<Hash | undefined> {
    return this.inner.get(name);
  }

  list(prefix: string): AsyncIterable<[string, Hash]> {
    return this.inner.list(prefix);
  }

  /**
   * The entry is written first and the swap second (a failed swap takes the entry back): a
   * collection listing names in between sees the entry, so it never deletes what the move names,
   * and no error comes after a move has happened. A crash in between leaves one extra entry.
   */
  async compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void> {
    const commit = next ?? expect;
    // Not a branch, or not a move (the same commit again): nothing to record.
    const still = expect !== undefined && next !== undefined && equalBytes(expect, next);
    if (!name.startsWith(BRANCH_PREFIX) || commit === undefined || still) return this.inner.compareAndSwap(name, expect, next);
    const branch = name.slice(BRANCH_PREFIX.length);
    const kind: ReflogKind = next === undefined ? 'delete' : expect === undefined ? 'create' : 'update';
    const entry = await this.writeEntry(branch, kind, commit);
    try {
      await this.inner.compareAndSwap(name, expect, next);
    } catch (err) {
      await this.inner.compareAndSwap(entry, commit, undefined).catch(() => undefined);
      throw err;
    }
  }

  private async writeEntry(branch: string, kind: ReflogKind, commit: Hash): Promise<string> {
    // Distinct, increasing times within a process; another writer at the same nanosecond takes the next.
    let t = this.now();
    for (;;) {
      if (t <= this.lastNs) t = this.lastNs + 1n;
      this.lastNs = t;
      const entry = entryName(branch, t, kind);
      try {
        await this.inner.compareAndSwap(entry, undefined, commit);
        return entry;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_CONFLICT') throw err;
      }
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Reflog entries, oldest first: of one branch, or (no branch) of every branch by time. */
export async function readReflog(names: NameStore, branch?: string): Promise<ReflogEntry[]> {
  const out: ReflogEntry[] = [];
  for await (const [name, h] of names.list(REFLOG_PREFIX + (branch === undefined ? '' : `${branch}:`))) {
    const e = parseReflogName(name, h);
    if (e !== undefined && (branch === undefined || e.branch === branch)) out.push(e);
  }
  out.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  return out;
}

export interface ExpireOptions {
  /** Remove entries older than this (ns since the epoch). */
  beforeNs?: bigint | undefined;
  /** Keep only the newest N entries of each branch. */
  keepLast?: number | undefined;
}

/** Splits entries (oldest first) into those the rules keep and those expired. */
export function splitExpired(entries: readonly ReflogEntry[], options: ExpireOptions): { left: ReflogEntry[]; expired: ReflogEntry[] } {
  const perBranch = new Map<string, number>();
  for (const e of entries) perBranch.set(e.branch, (perBranch.get(e.branch) ?? 0) + 1);
  const seen = new Map<string, number>();
  const left: ReflogEntry[] = [];
  const expired: ReflogEntry[] = [];
  for (const e of entries) {
    const i = seen.get(e.branch) ?? 0;
    seen.set(e.branch, i + 1);
    const newer = perBranch.get(e.branch)! - 1 - i; // entries of this branch after this one
    const old =
      (options.keepLast !== undefined && newer >= options.keepLast) || (options.beforeNs !== undefined && e.timeNs < options.beforeNs);
    (old ? expired : left).push(e);
  }
  return { left, expired };
}

/** Removes expired reflog entries; returns those left, oldest first. */
export async function expireReflog(names: NameStore, options: ExpireOptions): Promise<ReflogEntry[]> {
  const { left, expired } = splitExpired(await readReflog(names), options);
  await removeEntries(names, expired);
  return left;
}

export async function removeEntries(names: NameStore, entries: readonly ReflogEntry[]): Promise<void> {
  for (const e of entries) {
    await names.compareAndSwap(e.name, e.commit, undefined).catch((err: unknown) => {
      // Another process removed it already: the same outcome. Any other failure stops the
      // collection before its sweep (the entry still names its commit).
      if ((err as { code?: string }).code !== 'ERR_CONFLICT') throw err;
    });
  }
}

/** The commit `branch@{n}` names: n moves back from the newest entry (0: the newest). */
export async function reflogAt(names: NameStore, branch: string, n: number): Promise<Hash | undefined> {
  const list = await readReflog(names, branch);
  const e = list[list.length - 1 - n];
  return e?.commit;
}
