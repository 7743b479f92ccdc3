// What a collection keeps: one pass over the names table and each branch's history, honouring
// the history already cut (history-cuts.ts), and the parent links this collection cuts.
import { bytesToHex, decodeNode, type Hash } from '@cafs/kv';
import { tryDecodeCommit, type Commit } from './commit.js';
import { tryGet } from './tree-walk.js';
import { RepoError } from './errors.js';
import { HistoryCuts } from './history-cuts.js';
import { BRANCH_PREFIX, CUT_PREFIX, GC_PREFIX, PIN_PREFIX, REFLOG_PREFIX, REMOTE_PREFIX, TAG_PREFIX } from './ref-names.js';
import { DEFAULT_REFLOG_EXPIRE_MS, parseReflogName, splitExpired, type ReflogEntry } from './reflog.js';
import type { GcOptions, Retention } from './gc-types.js';
import type { Repo } from './repo.js';

export interface RetainResult extends Retention {
  /** Parent links from a retained commit to a stored commit that is not retained: to be cut. */
  newCuts: { child: Hash; parent: Hash }[];
  /** Reflog entries past the keep rules: removed before anything they name is deleted. */
  expiredReflog: ReflogEntry[];
}

export async function retain(repo: Repo, options: GcOptions): Promise<RetainResult> {
  const r: RetainResult = { kept: new Map(), roots: new Map(), heads: new Map(), newCuts: [], expiredReflog: [] };
  const cuts = await HistoryCuts.load(repo.names);
  const commits = new Map<string, { hash: Hash; commit: Commit }>();
  const addRoot = (root: Hash, label: string): void => {
    const id = bytesToHex(root);
    if (!r.roots.has(id)) r.roots.set(id, { hash: root, label });
  };
  const addCommit = (hash: Hash, c: Commit, label: string): void => {
    const id = bytesToHex(hash);
    r.kept.set(id, { hash, root: c.root });
    commits.set(id, { hash, commit: c });
    addRoot(c.root, label);
  };
  /** A pinned or otherwise named hash: a commit, a root, or (kept as is) any other blob. */
  const addTarget = async (hash: Hash): Promise<void> => {
    const bytes = await tryGet(repo.store, hash);
    if (bytes === undefined) return; // nothing left to keep
    const c = tryDecodeCommit(bytes);
    if (c !== undefined) return addCommit(hash, c, '');
    try {
      decodeNode(hash, bytes);
      addRoot(hash, '');
    } catch {
      r.kept.set(bytesToHex(hash), { hash, root: undefined });
    }
  };

  const keepLast = options.keepLast;
  if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast >= 1)) {
    throw new RepoError('EINVAL', `keepLast must be a positive integer, not ${keepLast}`);
  }
  const cutoff = options.keepNewerThan === undefined ? undefined : BigInt(options.keepNewerThan.getTime()) * 1_000_000n;
  const keepAll = keepLast === undefined && cutoff === undefined;

  // One pass over the names table.
  const branches: [string, Hash][] = [];
  const tags: Hash[] = [];
  const targets: Hash[] = [];
  const reflog: ReflogEntry[] = [];
  for await (const [name, h] of repo.names.list('')) {
    if (name.startsWith(REFLOG_PREFIX)) {
      const e = parseReflogName(name, h);
      if (e !== undefined) reflog.push(e);
      else targets.push(h);
    } else if (name.startsWith(BRANCH_PREFIX)) branches.push([name.slice(BRANCH_PREFIX.length), h]);
    // Remote-tracking branches keep their history as local ones do (a later fetch diffs against it).
    else if (name.startsWith(REMOTE_PREFIX)) branches.push([name.slice('refs/'.length), h]);
    else if (name.startsWith(TAG_PREFIX)) tags.push(h);
    else if (name.startsWith(PIN_PREFIX)) targets.push(h);
    // The collector's state is not a root, and cuts name what was dropped.
    else if (!name.startsWith(GC_PREFIX) && !name.startsWith(CUT_PREFIX)) targets.push(h); // another feature's refs: keep what they name
  }
  // The reflog expires by age (and by the history rules: --keep-last N keeps a branch's newest N
  // moves, --keep-newer-than what is newer); what is left keeps its commits like a tag.
  const expireMs = options.reflogExpireMs ?? DEFAULT_REFLOG_EXPIRE_MS;
  if (!(expireMs >= 0)) throw new RepoError('EINVAL', `reflogExpireMs must be a number of milliseconds >= 0, not ${expireMs}`);
  const expireNs = Number.isFinite(expireMs) ? repo.now() - BigInt(Math.round(expireMs)) * 1_000_000n : undefined;
  const beforeNs = cutoff === undefined ? expireNs : expireNs === undefined || cutoff > expireNs ? cutoff : expireNs;
  reflog.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  const { left, expired } = splitExpired(reflog, { beforeNs, keepLast });
  r.expiredReflog = expired;
  const newest = new Map<string, number>();
  left.forEach((e, i) => newest.set(e.branch, i));
  // A tag keeps its history as a branch does (by the same rules), with no head of its own; so
  // does a reflog entry, except that under keepLast an older move keeps its own commit only (the
  // newest N moves, not N commits behind each).
  const walks: [string | undefined, Hash, number | undefined][] = [
    ...branches.map(([b, h]): [string, Hash, number | undefined] => [b, h, keepLast]),
    ...tags.map((h): [undefined, Hash, number | undefined] => [undefined, h, keepLast]),
    // A branch's newest move (a deleted branch's last head) keeps as much as the branch kept.
    ...left.map((e, i): [undefined, Hash, number | undefined] => [undefined, e.commit, keepLast === undefined || newest.get(e.branch) === i ? keepLast : 1]),
  ];
  for (const [branch, head, depth] of walks) {
    options.signal?.throwIfAborted();
    const headBytes = await tryGet(repo.store, head);
    const headCommit = headBytes && tryDecodeCommit(headBytes);
    if (!headCommit) {
      // A tag of a bare root or blob; a branch must name a commit.
      if (branch !== undefined) await repo.readCommit(head);
      targets.push(head);
      continue;
    }
    if (branch !== undefined) r.heads.set(branch, headCommit.root);
    // Newest first over all parents, as `repo.log`; a cut link or a parent gone ends the walk.
    const seen = new Set<string>([bytesToHex(head)]);
    const queue: { hash: Hash; commit: Commit }[] = [{ hash: head, commit: headCommit }];
    for (let n = 0; queue.length > 0; n++) {
      let best = 0;
      for (let i = 1; i < queue.length; i++) if (queue[i]!.commit.timeNs > queue[best]!.commit.timeNs) best = i;
      const e = queue.splice(best, 1)[0]!;
      const keep =
        n === 0 || keepAll || (depth !== undefined && n < depth) || (cutoff !== undefined && e.commit.timeNs >= cutoff);
      if (!keep) break;
      // Without a per-walk count, whether a commit is kept depends on the commit alone: one an
      // earlier walk kept had its history walked then (many reflog entries share one history).
      if (n > 0 && depth === undefined && r.kept.has(bytesToHex(e.hash))) continue;
      addCommit(e.hash, e.commit, branch ?? '');
      for (const p of cuts.parents(e.hash, e.commit)) {
        const id = bytesToHex(p);
        if (seen.has(id)) continue;
        seen.add(id);
        const bytes = await tryGet(repo.store, p);
        const c = bytes && tryDecodeCommit(bytes);
        if (c) queue.push({ hash: p, commit: c });
      }
    }
  }
  for (const h of [...targets, ...(options.pins ?? [])]) await addTarget(h);

  // Every link from a kept commit to a stored commit that is not kept is cut before anything is
  // deleted (a pinned commit keeps itself, not its history, so its links are cut too).
  for (const { hash, commit } of commits.values()) {
    for (const p of cuts.parents(hash, commit)) {
      if (r.kept.has(bytesToHex(p))) continue;
      const [present] = await repo.store.has([p]);
      if (present) r.newCuts.push({ child: hash, parent: p });
    }
  }
  return r;
}
