// Fetch and push between a repository and a remote (another repository, or a `cafs serve`
// over HTTP): blobs first through sync(), names last, by compare-and-swap.
import { bytesToHex, type Hash } from '@cafs/kv';
import { tryDecodeCommit } from '../commit.js';
import { REMOTE_PREFIX, TAG_PREFIX } from '../ref-names.js';
import type { Repo } from '../repo.js';
import { tryGet } from '../tree-walk.js';
import { cutAtMissingParents } from '../history-cuts.js';
import { reaches } from '../ancestry.js';
import { SyncError } from './errors.js';
import type { RemoteRefs } from './http-remote.js';
import { planTransfer } from './plan.js';
import { storeSource, storeTarget, sync, type SyncOptions, type SyncReport, type SyncSource, type SyncTarget } from './sync.js';


/** What fetch and push need of the other side. */
export interface Remote extends SyncSource, SyncTarget {
  refs(o?: { signal?: AbortSignal | undefined }): Promise<RemoteRefs>;
  updateBranch(branch: string, old: Hash | undefined, next: Hash, force: boolean, o?: { signal?: AbortSignal | undefined }): Promise<void>;
}

/** Whether `ancestor` is `commit` or in its history (as far as the store holds it and cuts allow). */
export async function isAncestor(repo: Repo, ancestor: Hash, commit: Hash): Promise<boolean> {
  const cuts = await repo.historyCuts();
  return reaches(ancestor, commit, async (h) => {
    const bytes = await tryGet(repo.store, h);
    const parsed = bytes === undefined ? undefined : tryDecodeCommit(bytes);
    return parsed === undefined ? undefined : cuts.parents(h, parsed);
  });
}

/**
 * Checks that a commit and everything it reaches is in `repo` (given that `old`, if any, is
 * whole there), then moves `branch` from `old` to `next`: refused unless a fast-forward, or `force`.
 */
export async function acceptBranchUpdate(repo: Repo, branch: string, old: Hash | undefined, next: Hash, force: boolean): Promise<void> {
  let plan;
  try {
    plan = await planTransfer(repo.fs.tree, { want: [next], have: old === undefined ? [] : [old] }, { cuts: await repo.historyCuts() });
  } catch (err) {
    throw new SyncError('ERR_INCOMPLETE', `refusing ${branch} -> ${bytesToHex(next).slice(0, 12)}: ${(err as Error).message}`);
  }
  const present = await repo.store.has(plan.map((p) => p.hash));
  const missing = plan.filter((_, i) => !present[i]);
  if (missing.length > 0) throw new SyncError('ERR_INCOMPLETE', `refusing ${branch} -> ${bytesToHex(next).slice(0, 12)}: ${missing.length} of its blobs were not sent (first ${bytesToHex(missing[0]!.hash)})`);
  // A pushed history that ends (the pusher's was pruned) ends here too, recorded before the name moves.
  await cutAtMissingParents(repo.store, repo.names, plan.filter((p) => p.kind === 'commit').map((p) => p.hash));
  const [isCommit] = [tryDecodeCommit(await repo.store.get(next))];
  if (isCommit === undefined) throw new SyncError('EINVAL', `${bytesToHex(next)} is not a commit`);
  const current = (await repo.branches()).find((b) => b.name === branch)?.commit;
  const same = (a: Hash | undefined, b: Hash | undefined): boolean => (a === undefined ? b === undefined : b !== undefined && bytesToHex(a) === bytesToHex(b));
  if (!same(current, old)) throw new SyncError('ERR_CONFLICT', `${branch} moved: it is at ${current ? bytesToHex(current).slice(0, 12) : '(absent)'}, not ${old ? bytesToHex(old).slice(0, 12) : '(absent)'}; fetch and merge first`);
  if (!force && old !== undefined && !(await isAncestor(repo, old, next))) {
    throw new SyncError('ERR_NON_FAST_FORWARD', `${branch}: ${bytesToHex(next).slice(0, 12)} is not a fast-forward of ${bytesToHex(old).slice(0, 12)}; pull first, or push --force`);
  }
  try {
    await repo.setBranch(branch, next, old);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_CONFLICT') throw new SyncError('ERR_CONFLICT', `${branch} moved meanwhile; fetch and merge first`);
    throw err;
  }
}

/** Another repository (on this machine) as a remote. */
export function repoRemote(other: Repo): Remote {
  const source = repoSource(other);
  const target = storeTarget(other.store);
  return {
    plan: source.plan,
    getMany: source.getMany,
    has: target.has,
    putMany: target.putMany,
    refs: async () => ({
      branches: new Map((await other.branches()).map((b) => [b.name, b.commit])),
      tags: new Map((await other.tags()).map((t) => [t.name, t.commit])),
    }),
    updateBranch: (branch, old, next, force) => acceptBranchUpdate(other, branch, old, next, force),
  };
}

/** A repository as the source of a sync: its history as far as its cuts. */
export function repoSource(repo: Repo): SyncSource {
  const source = storeSource(repo.store);
  return {
    plan: async (req, o) => planTransfer(repo.fs.tree, req, { ...o, cuts: await repo.historyCuts() }),
    getMany: source.getMany,
  };
}

/** Local commits the remote may share, to diff against: remote-tracking heads and branches. */
async function haves(repo: Repo, name: string): Promise<Hash[]> {
  const out = new Map<string, Hash>();
  for await (const [, h] of repo.names.list(REMOTE_PREFIX + name + '/')) out.set(bytesToHex(h), h);
  for (const b of await repo.branches()) out.set(bytesToHex(b.commit), b.commit);
  return [...out.values()].slice(0, 64);
}

export interface FetchResult {
  /** Remote branches whose tracking ref moved: name, from, to. */
  updated: { branch: string; old: Hash | undefined; new: Hash }[];
  pruned: string[];
  report: SyncReport;
  refs: RemoteRefs;
}

/** Fetches every branch (and tag) of `remote` into `refs/remotes/<name>/<branch>`. */
export async function fetchRemote(repo: Repo, remote: Remote, name: string, options: SyncOptions = {}): Promise<FetchResult> {
  const refs = await remote.refs({ signal: options.signal });
  const tips = [...refs.branches.values(), ...refs.tags.values()];
  const report = await sync(remote, repo.store, { want: dedupe(tips), have: await haves(repo, name) }, options);
  await cutAtMissingParents(repo.store, repo.names, report.commitsCopied);
  const updated: FetchResult['updated'] = [];
  const prefix = REMOTE_PREFIX + name + '/';
  const existing = new Map<string, Hash>();
  for await (const [k, h] of repo.names.list(prefix)) existing.set(k.slice(prefix.length), h);
  for (const [branch, commit] of refs.branches) {
    const old = existing.get(branch);
    if (old !== undefined && bytesToHex(old) === bytesToHex(commit)) continue;
    await repo.names.compareAndSwap(prefix + branch, old, commit);
    updated.push({ branch, old, new: commit });
  }
  const pruned: string[] = [];
  for (const [branch, old] of existing) {
    if (refs.branches.has(branch)) continue;
    await repo.names.compareAndSwap(prefix + branch, old, undefined);
    pruned.push(branch);
  }
  // Tags are shared names: a new remote tag is created here; an existing one is left alone.
  for (const [tag, commit] of refs.tags) {
    if ((await repo.names.get(TAG_PREFIX + tag)) === undefined) await repo.names.compareAndSwap(TAG_PREFIX + tag, undefined, commit);
  }
  return { updated, pruned, report, refs };
}

export interface PushResult {
  branch: string;
  old: Hash | undefined;
  new: Hash;
  report: SyncReport;
  upToDate: boolean;
}

/** Pushes a local branch to the remote's branch of the same name (or `remoteBranch`). */
export async function pushBranch(repo: Repo, remote: Remote, name: string, branch: string, options: SyncOptions & { force?: boolean; remoteBranch?: string } = {}): Promise<PushResult> {
  const local = await repo.head(branch);
  const to = options.remoteBranch ?? branch;
  const refs = await remote.refs({ signal: options.signal });
  const old = refs.branches.get(to);
  if (old !== undefined && bytesToHex(old) === bytesToHex(local)) {
    return { branch: to, old, new: local, report: { planned: 0, blobs: 0, bytes: 0, commits: 0, commitsCopied: [] }, upToDate: true };
  }
  const oldHere = old !== undefined && (await repo.store.has([old]))[0] === true;
  if (old !== undefined && !options.force && (!oldHere || !(await isAncestor(repo, old, local)))) {
    throw new SyncError('ERR_NON_FAST_FORWARD', `${to} on ${name} is at ${bytesToHex(old).slice(0, 12)}, which ${branch} does not contain: pull first, or push --force`);
  }
  const report = await sync(repoSource(repo), remote, { want: [local], have: oldHere ? [old!] : [] }, options);
  await remote.updateBranch(to, old, local, options.force === true, { signal: options.signal });
  // The remote-tracking ref follows what the remote now holds.
  const track = REMOTE_PREFIX + name + '/' + to;
  await repo.names.compareAndSwap(track, await repo.names.get(track), local);
  return { branch: to, old, new: local, report, upToDate: false };
}

function dedupe(hashes: Hash[]): Hash[] {
  const m = new Map<string, Hash>();
  for (const h of hashes) m.set(bytesToHex(h), h);
  return [...m.values()];
}
