// Merges of branches: the merge base of two commits, and mergeRefs (fast-forward, or a
// three-way merge of their roots recorded as a two-parent commit).
import { bytesToHex, compareBytes, equalBytes, type Hash } from '@cafs/kv';
import { mergeRoots, type Conflict, type MergeOptions } from './merge.js';
import { settleConflicts, type ConflictStrategy } from './merge-resolve.js';
import { RepoError } from './errors.js';
import { reaches } from './ancestry.js';
import type { Repo } from './repo.js';

const hex = (h: Hash): string => bytesToHex(h);

const A = 1;
const B_ = 2;
const STALE = 4;

/**
 * The best common ancestor of two commits: a common ancestor that is not an ancestor of any
 * other common ancestor (the newest of them when there are several, as after criss-cross
 * merges). Undefined when the histories share nothing.
 */
export async function mergeBase(repo: Repo, a: Hash, b: Hash): Promise<Hash | undefined> {
  return (await mergeBases(repo, a, b))[0];
}

/** Every best common ancestor of two commits, newest first. */
export async function mergeBases(repo: Repo, a: Hash, b: Hash): Promise<Hash[]> {
  return (await searchMergeBases(repo, a, b)).bases;
}

/**
 * The merge bases, and whether the search met history garbage collection cut (so that an
 * empty answer may only mean the common ancestors were collected).
 */
async function searchMergeBases(repo: Repo, a: Hash, b: Hash): Promise<{ bases: Hash[]; pruned: boolean }> {
  if (equalBytes(a, b)) return { bases: [a], pruned: false };
  const cuts = await repo.historyCuts();
  let pruned = false;
  const commits = new Map<string, { hash: Hash; timeNs: bigint; parents: Hash[] }>();
  const load = async (h: Hash) => {
    const id = hex(h);
    let c = commits.get(id);
    if (c === undefined) {
      const commit = await repo.readCommit(h);
      const parents = cuts.parents(h, commit);
      if (parents.length < commit.parents.length) pruned = true;
      c = { hash: h, timeNs: commit.timeNs, parents };
      commits.set(id, c);
    }
    return c;
  };
  // Paint down from both tips, newest first (git's paint_down_to_common): a commit reached
  // from both is a candidate, and what lies below a candidate is stale.
  const flags = new Map<string, number>();
  const queue: { hash: Hash; id: string; timeNs: bigint }[] = [];
  const push = async (h: Hash, f: number) => {
    const id = hex(h);
    const had = flags.get(id) ?? 0;
    if ((had | f) === had) return;
    flags.set(id, had | f);
    queue.push({ hash: h, id, timeNs: (await load(h)).timeNs });
  };
  await push(a, A);
  await push(b, B_);
  const candidates: Hash[] = [];
  const result = new Set<string>();
  while (queue.some((q) => !(flags.get(q.id)! & STALE))) {
    let best = 0;
    for (let i = 1; i < queue.length; i++) if (queue[i]!.timeNs > queue[best]!.timeNs) best = i;
    const { hash, id } = queue.splice(best, 1)[0]!;
    let f = flags.get(id)!;
    if ((f & (A | B_)) === (A | B_)) {
      if (!(f & STALE) && !result.has(id)) {
        result.add(id);
        candidates.push(hash);
      }
      f |= STALE;
      flags.set(id, f);
    }
    for (const p of (await load(hash)).parents) await push(p, f);
  }
  // Drop candidates that are ancestors of other candidates.
  const best: Hash[] = [];
  for (const c of candidates) {
    let redundant = false;
    for (const d of candidates) {
      if (d !== c && (await reaches(c, d, async (h) => (await load(h)).parents))) {
        redundant = true;
        break;
      }
    }
    if (!redundant) best.push(c);
  }
  best.sort((x, y) => {
    const tx = commits.get(hex(x))!.timeNs;
    const ty = commits.get(hex(y))!.timeNs;
    return tx > ty ? -1 : tx < ty ? 1 : compareBytes(x, y);
  });
  return { bases: best, pruned };
}

export interface MergeRefsOptions extends MergeOptions {
  message?: string | undefined;
  /**
   * Record the merge commit even with conflicts (each resolved as `strategy` says; default:
   * the tree keeps ours). Text files both sides changed are merged by line in any case.
   */
  allowConflicts?: boolean | undefined;
  /**
   * How conflicts left after the line merge are resolved; setting one records the merge
   * (as allowConflicts does). See ConflictStrategy.
   */
  strategy?: ConflictStrategy | undefined;
  /** Make a merge commit even when the branch could fast-forward (default: fast-forward). */
  noFastForward?: boolean | undefined;
  author?: string | undefined;
}

export interface MergeRefsResult {
  /** The branch's head after the merge; undefined when conflicts stopped it. */
  commit?: Hash | undefined;
  /** The merged root (with conflicts: each as its `resolution` says). */
  root: Hash;
  conflicts: Conflict[];
  /** The branch moved to the other commit without a merge commit. */
  fastForward: boolean;
  /** The other commit was already in the branch's history: nothing changed. */
  upToDate: boolean;
  /** The merge base used (undefined for unrelated histories: merged against an empty root). */
  base: Hash | undefined;
}

/**
 * Merges `otherRef` into `branch`: fast-forwards when the branch's head is an ancestor of the
 * other commit, else merges the roots against the merge base and records a commit with
 * parents [head, other] by compare-and-swap on the head read at the start (a ConflictError if
 * the branch moved meanwhile). With conflicts and no `allowConflicts`, nothing is recorded.
 */
export async function mergeRefs(repo: Repo, branch: string, otherRef: string, options: MergeRefsOptions = {}): Promise<MergeRefsResult> {
  const head = await repo.head(branch);
  const other = await repo.commitOf(otherRef);
  const headRoot = (await repo.readCommit(head)).root;
  if (equalBytes(head, other)) return { commit: head, root: headRoot, conflicts: [], fastForward: false, upToDate: true, base: head };
  const { bases, pruned } = await searchMergeBases(repo, head, other);
  const base = bases[0];
  if (base === undefined && pruned) {
    throw new RepoError(
      'ERR_COLLECTED',
      `${branch} and ${otherRef} have no common ancestor left: garbage collection pruned their history before they met, so a three-way merge has no base`,
    );
  }
  if (base !== undefined && equalBytes(base, other)) {
    return { commit: head, root: headRoot, conflicts: [], fastForward: false, upToDate: true, base };
  }
  const otherRoot = (await repo.readCommit(other)).root;
  if (base !== undefined && equalBytes(base, head) && !options.noFastForward) {
    await repo.setBranch(branch, other, head);
    return { commit: other, root: otherRoot, conflicts: [], fastForward: true, upToDate: false, base };
  }
  const baseRoot = base !== undefined ? (await repo.readCommit(base)).root : await repo.fs.mkfs();
  const raw = await mergeRoots(repo.fs, baseRoot, headRoot, otherRoot, options);
  const merged = raw.conflicts.length === 0
    ? raw
    : await settleConflicts(repo.fs, raw.root, raw.conflicts, { strategy: options.strategy, labels: { ours: branch, theirs: otherRef }, signal: options.signal });
  if (merged.conflicts.length > 0 && !options.allowConflicts && options.strategy === undefined) {
    return { commit: undefined, root: merged.root, conflicts: merged.conflicts, fastForward: false, upToDate: false, base };
  }
  const message = options.message ?? `Merge ${otherRef} into ${branch}`;
  const commitOptions: { expect: Hash; parents: Hash[]; author?: string } = { expect: head, parents: [head, other] };
  if (options.author !== undefined) commitOptions.author = options.author;
  const commit = await repo.commit(branch, merged.root, message, commitOptions);
  return { commit, root: merged.root, conflicts: merged.conflicts, fastForward: false, upToDate: false, base };
}
