import {
  BlobNotFoundError,
  LevelBlobStore,
  MemoryBlobStore,
  bytesToHex,
  openCodecStore,
  type CodecOpenOptions,
  parseHash,
  type BlobStore,
  type Hash,
} from '@cafs/kv';
import { Fs, type FsOptions } from '@cafs/fs';
import { decodeCommit, encodeCommit, tryDecodeCommit, type Commit } from './commit.js';
import { RepoError } from './errors.js';
import { LevelNameStore, memoryNamesOf, type NameStore } from './names.js';
import { Drive } from './drive/drive.js';
import { GcGuard } from './gc-guard.js';
import { gc } from './gc.js';
import type { GcOptions, GcReport } from './gc-types.js';
import { BRANCH_PREFIX, CUT_PREFIX, REMOTE_PREFIX, TAG_PREFIX } from './ref-names.js';
import { HistoryCuts } from './history-cuts.js';
import { LoggedNameStore, readReflog, reflogAt, type ReflogEntry } from './reflog.js';
import { mergeRefs, type MergeRefsOptions, type MergeRefsResult } from './merge-refs.js';

export interface RepoOptions {
  /** The blob store (default: a new in-memory store). */
  store?: BlobStore | undefined;
  /** The names table (default: in the store's own database, when it is a LevelBlobStore). */
  names?: NameStore | undefined;
  /** Options for the filesystem layer (cache sizes, uid/gid). */
  fs?: FsOptions | undefined;
  /** Clock for commits and file times, in nanoseconds since the epoch. */
  now?: (() => bigint) | undefined;
  /** Default author of commits. */
  author?: string | undefined;
  /**
   * Record every move of a branch in the reflog (default true). False where the names table
   * belongs to another process that records them itself (a holder's socket).
   */
  reflog?: boolean | undefined;
}

export interface ResolvedRef {
  /** The commit the ref names, when it names one (not for a bare root hash). */
  commit: Hash | undefined;
  /** The filesystem root. */
  root: Hash;
  /** The path after `:`, if any. */
  path: string | undefined;
}

export interface LogEntry {
  hash: Hash;
  commit: Commit;
  /** Parents garbage collection dropped: history ends here on their side (see history-cuts.ts). */
  collected?: Hash[] | undefined;
}

export { BRANCH_PREFIX, TAG_PREFIX, REMOTE_PREFIX } from './ref-names.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Branch and tag names: git's rules, roughly (no spaces, `~^:?*[\`, `..`, control characters). */
export function checkName(name: string, what = 'name'): string {
  const bad =
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > 255 ||
    /[\x00-\x20\x7f~^:?*[\\]/.test(name) ||
    name.includes('..') ||
    name.includes('//') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.startsWith('.') ||
    name.endsWith('.') ||
    name.endsWith('.lock') ||
    name.includes('@{') ||
    HEX64.test(name);
  if (bad) throw new RepoError('EINVAL', `invalid ${what} ${JSON.stringify(name)}`);
  return name;
}

const collectedError = (what: string): RepoError =>
  new RepoError('ERR_COLLECTED', `commit ${what} was removed by garbage collection (history before it was pruned)`);

const systemClock = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

/**
 * A repository: a blob store holding filesystem trees and commits, and a table of names
 * (branches and tags) updated by compare-and-swap.
 */
export class Repo {
  readonly store: BlobStore;
  readonly names: NameStore;
  readonly fs: Fs;
  readonly now: () => bigint;
  readonly author: string | undefined;

  constructor(options: RepoOptions = {}) {
    const given = options.store ?? new MemoryBlobStore();
    // Writers go through a GcGuard so that garbage collection can run beside them.
    this.store = given instanceof GcGuard ? given : new GcGuard(given);
    const inner = this.store instanceof GcGuard ? this.store.inner : given;
    let names: NameStore;
    if (options.names !== undefined) names = options.names;
    else if (inner instanceof MemoryBlobStore) names = memoryNamesOf(inner);
    else if (inner instanceof LevelBlobStore) names = new LevelNameStore(inner.db);
    else throw new RepoError('EINVAL', 'a names table is needed for a store that is not a LevelBlobStore');
    this.now = options.now ?? systemClock;
    this.names = options.reflog === false || names instanceof LoggedNameStore ? names : new LoggedNameStore(names, this.now);
    this.author = options.author;
    this.fs = new Fs(this.store, { ...options.fs, now: this.now });
  }

  /**
   * Opens a repository: on disk in `path` (LevelDB), else in memory. `codecs` (compression,
   * encryption and its secret) are read from the store's codec record; given for a new, empty
   * store they create it (see @cafs/kv's openCodecStore). Roots are the same under any codec.
   */
  static async open(options: RepoOptions & { path?: string | undefined; codecs?: CodecOpenOptions | undefined } = {}): Promise<Repo> {
    if (options.store !== undefined) return new Repo(options);
    const raw = options.path !== undefined ? await LevelBlobStore.open(options.path) : new MemoryBlobStore();
    try {
      const store = await openCodecStore(raw, options.codecs ?? {});
      const names = options.names ?? (store === raw ? undefined : raw instanceof MemoryBlobStore ? memoryNamesOf(raw) : new LevelNameStore(raw.db));
      return new Repo({ ...options, store, names });
    } catch (err) {
      await raw.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.names.close();
    await this.store.close();
  }

  /** Creates `branch` (default "main") with a first commit of an empty filesystem. */
  async init(options: { branch?: string; message?: string } = {}): Promise<Hash> {
    const branch = checkName(options.branch ?? 'main', 'branch');
    if ((await this.names.get(BRANCH_PREFIX + branch)) !== undefined) {
      throw new RepoError('EEXIST', `branch ${branch} exists`);
    }
    const root = await this.fs.mkfs();
    return this.commit(branch, root, options.message ?? 'init', { expect: undefined, parents: [] });
  }

  /** The mutable session on `branch` (default "main"): node:fs/promises names, commit, watch. */
  drive(branch = 'main'): Promise<Drive> {
    return Drive.open(this, checkName(branch, 'branch'));
  }

  /**
   * Deletes blobs no branch, tag, retained commit or pinned root reaches (incremental by
   * default: its cost follows the changes since the last collection). Safe beside writers.
   */
  gc(options: GcOptions = {}): Promise<GcReport> {
    return gc(this, options);
  }

  /**
   * Merges `otherRef` into `branch`: finds the merge base from history, fast-forwards when it
   * can, else merges three ways and records a two-parent commit (compare-and-swap). With
   * conflicts nothing is recorded unless `allowConflicts` (they keep "ours").
   */
  merge(branch: string, otherRef: string, options: MergeRefsOptions = {}): Promise<MergeRefsResult> {
    return mergeRefs(this, checkName(branch, 'branch'), otherRef, options);
  }

  // Commits.

  async writeCommit(commit: Commit): Promise<Hash> {
    return this.store.put(encodeCommit(commit));
  }

  async readCommit(hash: Hash): Promise<Commit> {
    return decodeCommit(await this.store.get(hash), bytesToHex(hash));
  }

  /** Where garbage collection has cut history (read afresh: a collection may have run). */
  historyCuts(): Promise<HistoryCuts> {
    return HistoryCuts.load(this.names);
  }

  /** The commit, or undefined when garbage collection dropped it. */
  async readCommitIfKept(hash: Hash): Promise<Commit | undefined> {
    try {
      return await this.readCommit(hash);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Records `root` as a new commit on `branch` and moves the branch to it by compare-and-swap.
   * `expect` is the head the caller built on (default: the head read now); if the branch has
   * moved since, a ConflictError is thrown and nothing changes. Parents default to [expect].
   */
  async commit(
    branch: string,
    root: Hash,
    message: string,
    options: { expect?: Hash | undefined; parents?: Hash[]; author?: string; timeNs?: bigint } = {},
  ): Promise<Hash> {
    checkName(branch, 'branch');
    const ref = BRANCH_PREFIX + branch;
    const expect = 'expect' in options ? options.expect : await this.names.get(ref);
    const hash = await this.writeCommit({
      root,
      parents: options.parents ?? (expect ? [expect] : []),
      timeNs: options.timeNs ?? this.now(),
      message,
      author: options.author ?? this.author,
    });
    await this.names.compareAndSwap(ref, expect, hash);
    return hash;
  }

  // Branches and tags.

  /** The commit a branch points at. */
  async head(branch: string): Promise<Hash> {
    const h = await this.names.get(BRANCH_PREFIX + checkName(branch, 'branch'));
    if (h === undefined) throw new RepoError('ERR_UNKNOWN_REF', `no branch ${branch}`);
    return h;
  }

  branches(): Promise<{ name: string; commit: Hash }[]> {
    return this.listNames(BRANCH_PREFIX);
  }

  tags(): Promise<{ name: string; commit: Hash }[]> {
    return this.listNames(TAG_PREFIX);
  }

  private async listNames(prefix: string): Promise<{ name: string; commit: Hash }[]> {
    const out: { name: string; commit: Hash }[] = [];
    for await (const [k, v] of this.names.list(prefix)) out.push({ name: k.slice(prefix.length), commit: v });
    return out;
  }

  /** A new branch at the commit `from` names: O(1), nothing is copied. */
  async createBranch(name: string, from: string): Promise<Hash> {
    checkName(name, 'branch');
    const commit = await this.commitOf(from);
    await this.names.compareAndSwap(BRANCH_PREFIX + name, undefined, commit).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ERR_CONFLICT') throw new RepoError('EEXIST', `branch ${name} exists`);
      throw err;
    });
    return commit;
  }

  /** Moves a branch to `commit` if it is at `expect` (compare-and-swap). */
  async setBranch(name: string, commit: Hash, expect: Hash | undefined): Promise<void> {
    checkName(name, 'branch');
    await this.names.compareAndSwap(BRANCH_PREFIX + name, expect, commit);
  }

  async deleteBranch(name: string, options: { expect?: Hash } = {}): Promise<void> {
    const expect = options.expect ?? (await this.head(name));
    await this.names.compareAndSwap(BRANCH_PREFIX + name, expect, undefined);
  }

  async createTag(name: string, ref: string): Promise<Hash> {
    checkName(name, 'tag');
    const commit = await this.commitOf(ref);
    await this.names.compareAndSwap(TAG_PREFIX + name, undefined, commit).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ERR_CONFLICT') throw new RepoError('EEXIST', `tag ${name} exists`);
      throw err;
    });
    return commit;
  }

  async deleteTag(name: string): Promise<void> {
    const h = await this.names.get(TAG_PREFIX + checkName(name, 'tag'));
    if (h === undefined) throw new RepoError('ERR_UNKNOWN_REF', `no tag ${name}`);
    await this.names.compareAndSwap(TAG_PREFIX + name, h, undefined);
  }

  /** The reflog, oldest first: the moves of one branch, or of every branch (deleted ones too). */
  async reflog(branch?: string): Promise<ReflogEntry[]> {
    if (branch !== undefined) checkName(branch, 'branch');
    return readReflog(this.names, branch);
  }

  // Refs.

  /** The commit a ref names (ERR_NOT_A_COMMIT for a bare root hash). */
  async commitOf(ref: string): Promise<Hash> {
    const r = await this.resolve(ref);
    if (r.commit === undefined) throw new RepoError('ERR_NOT_A_COMMIT', `${ref} names a root, not a commit`);
    return r.commit;
  }

  /**
   * Resolves `rev[~N...][:path]`, where rev is a 64-hex root or commit hash, a branch, a tag,
   * a remote-tracking branch (`origin/main`), `refs/heads/x` / `refs/tags/x`, or `branch@{N}` (the
   * commit the branch held N moves ago, from the reflog; it may since have been deleted); `~N`
   * steps N first parents back.
   */
  async resolve(ref: string): Promise<ResolvedRef> {
    if (typeof ref !== 'string' || ref.length === 0) throw new RepoError('EINVAL', 'empty ref');
    const colon = ref.indexOf(':');
    const revText = colon < 0 ? ref : ref.slice(0, colon);
    const path = colon < 0 ? undefined : ref.slice(colon + 1) || '/';
    const m = /^(.*?)((?:~\d*)*)$/.exec(revText)!;
    const base = m[1]!;
    const steps = [...m[2]!.matchAll(/~(\d*)/g)].map((x) => (x[1] === '' ? 1 : Number(x[1])));
    let commit: Hash | undefined;
    let root: Hash | undefined;
    const atMove = /^(.+)@\{(\d+)\}$/.exec(base);
    if (atMove !== null) {
      const branch = checkName(atMove[1]!, 'branch');
      commit = await reflogAt(this.names, branch, Number(atMove[2]));
      if (commit === undefined) throw new RepoError('ERR_UNKNOWN_REF', `${base}: the reflog of ${branch} has no entry that old (cafs reflog ${branch} lists it)`);
      if ((await this.readCommitIfKept(commit)) === undefined) throw collectedError(base);
    } else if (HEX64.test(base)) {
      const hash = parseHash(base);
      let bytes: Uint8Array;
      try {
        bytes = await this.store.get(hash);
      } catch (err) {
        if (!(err instanceof BlobNotFoundError)) throw err;
        if ((await this.historyCuts()).isCollected(hash)) throw collectedError(base);
        throw new RepoError('ERR_UNKNOWN_REF', `no commit or root ${base}`);
      }
      const c = tryDecodeCommit(bytes);
      if (c !== undefined) commit = hash;
      else root = hash;
    } else {
      const named =
        (base.startsWith('refs/') ? await this.names.get(base) : undefined) ??
        (await this.names.get(BRANCH_PREFIX + base)) ??
        (await this.names.get(TAG_PREFIX + base)) ??
        // A remote-tracking branch: origin/main.
        (base.includes('/') ? await this.names.get(REMOTE_PREFIX + base) : undefined);
      if (named !== undefined) commit = named;
      else if (/^[0-9a-f]{4,63}$/.test(base)) {
        const found = await this.findByPrefix(base);
        if (found.length === 0) throw new RepoError('ERR_UNKNOWN_REF', `unknown ref ${JSON.stringify(base)}: no branch, tag, commit or root starts with it`);
        if (found.length > 1) {
          const list = found.slice(0, 10).map((f) => `  ${bytesToHex(f.hash)} (${f.kind})`).join('\n');
          throw new RepoError('EINVAL', `short id ${base} is ambiguous; candidates:\n${list}`);
        }
        if (found[0]!.kind === 'commit') commit = found[0]!.hash;
        else root = found[0]!.hash;
      } else throw new RepoError('ERR_UNKNOWN_REF', `unknown ref ${JSON.stringify(base)}`);
    }
    const cuts = steps.length > 0 ? await this.historyCuts() : HistoryCuts.none;
    for (const n of steps) {
      if (commit === undefined) throw new RepoError('EINVAL', `${base} is a root, it has no parents`);
      for (let i = 0; i < n; i++) {
        const c = await this.readCommit(commit);
        if (c.parents.length === 0) throw new RepoError('ERR_UNKNOWN_REF', `${revText} goes past the first commit`);
        const child: Hash = commit;
        commit = c.parents[0]!;
        if (cuts.isCut(child, commit)) {
          throw new RepoError('ERR_COLLECTED', `${revText}: history before ${bytesToHex(child).slice(0, 12)} was removed by garbage collection`);
        }
        if ((await this.readCommitIfKept(commit)) === undefined) {
          throw new RepoError('ERR_UNKNOWN_REF', `${revText}: commit ${bytesToHex(commit)} (a parent of ${bytesToHex(child).slice(0, 12)}) is missing from the store; cafs fsck tells more`);
        }
      }
    }
    if (commit !== undefined) root = (await this.readCommit(commit)).root;
    return { commit, root: root!, path };
  }

  /**
   * Commits and roots whose hex starts with `prefix`, among the history of every name (as git
   * finds short ids among its objects; the store itself is not listed).
   */
  async findByPrefix(prefix: string): Promise<{ hash: Hash; kind: 'commit' | 'root' }[]> {
    const found = new Map<string, { hash: Hash; kind: 'commit' | 'root' }>();
    const seen = new Set<string>();
    const stack: Hash[] = [];
    const cuts = await this.historyCuts();
    // Cuts name dropped commits: not a starting point.
    for await (const [name, h] of this.names.list('refs/')) if (!name.startsWith(CUT_PREFIX)) stack.push(h);
    while (stack.length > 0) {
      const c = stack.pop()!;
      const id = bytesToHex(c);
      if (seen.has(id)) continue;
      seen.add(id);
      const commit = await this.readCommitIfKept(c).catch(() => undefined);
      if (commit === undefined) continue;
      if (id.startsWith(prefix)) found.set(id, { hash: c, kind: 'commit' });
      const rootId = bytesToHex(commit.root);
      if (rootId.startsWith(prefix)) found.set(rootId, { hash: commit.root, kind: 'root' });
      stack.push(...cuts.parents(c, commit));
    }
    return [...found.values()];
  }

  /** History from `ref`, newest first (all parents, by time). */
  async *log(ref: string, options: { limit?: number } = {}): AsyncGenerator<LogEntry> {
    const start = await this.commitOf(ref);
    const cuts = await this.historyCuts();
    const seen = new Set<string>([bytesToHex(start)]);
    const queue: LogEntry[] = [{ hash: start, commit: await this.readCommit(start) }];
    let left = options.limit ?? Infinity;
    while (queue.length > 0 && left-- > 0) {
      // Newest first; ties keep insertion order.
      let best = 0;
      for (let i = 1; i < queue.length; i++) if (queue[i]!.commit.timeNs > queue[best]!.commit.timeNs) best = i;
      const entry = queue.splice(best, 1)[0]!;
      const follow = cuts.parents(entry.hash, entry.commit);
      if (follow.length < entry.commit.parents.length) entry.collected = entry.commit.parents.filter((p) => !follow.includes(p));
      yield entry;
      for (const p of follow) {
        const id = bytesToHex(p);
        if (seen.has(id)) continue;
        seen.add(id);
        // A parent gone without a cut is damage (fsck reports it); history shows what is left.
        const parent = await this.readCommitIfKept(p);
        if (parent !== undefined) queue.push({ hash: p, commit: parent });
      }
    }
  }
}
