// Garbage collection of a repository's blob store.
//
// What is kept (the live set): every retained commit blob; every node of the tree of every
// retained root; every data blob an extent of those trees references; and the collector's own
// state (a state blob named 'refs/gc/state' and the nodes of its meta tree). Retained: every
// branch head and tag and, per branch and tag, the history the options keep (keepLast /
// keepNewerThan, default all of it, never past a recorded cut); every pinned root or commit
// ('refs/pins/<hex>' names, `options.pins`, and roots held in memory through the guard); and,
// conservatively, whatever any other name in the names table holds (not the cuts, which name
// what was dropped). Everything else is deleted, except blobs the GcGuard protects.
//
// Crash safety: the parent links a collection cuts are recorded (history-cuts.ts) before its
// state is written and anything is deleted, and dropped commits are deleted before any other
// blob (gc-sweep.ts); killed at any instant, it leaves a repository whose every walk of history
// ends at a cut, and the next collection completes it. Expired reflog entries (reflog.ts) are
// removed at the same point, before the sweep can delete what they named.
//
// Safety rule (writers running during a collection): every writer goes through one GcGuard
// (`guardStore(store)`, the store the Repo is built on). A collection never deletes a blob put
// through the guard at or after `start - graceMs` (default 60 s), `start` being when it began;
// in particular never one written during it. Writers must build on retained roots (a branch
// head, tag, retained commit, pin or held root) and make what they build reachable (commit,
// tag, pin or `guard.hold`) within the grace period. See gc-guard.ts.
//
// Full mode marks the live set by walking every retained tree once (shared subtrees once) and
// sweeps `store.hashes()`.
//
// Incremental mode does work in proportion to what changed since the previous collection. The
// previous collection persisted its retained set P (commits, roots, each branch's head) and a
// count of references to every live data blob (per distinct live leaf) in a meta tree. Every
// stored blob is then in live(P) or in the guard's journal (written since). So the candidates
// are: nodes only on the dropped side of a node diff (`nodeDiff`, Tree.changedNodes without
// reading entries) of each root of P no longer retained against its branch's head, the data
// blobs of dropped leaves, dropped commits, the old meta nodes and state, and the journal. A
// candidate is deleted only if it is not live now, which is checked exactly and cheaply: a node
// x is in tree r iff descending r towards x's last key reaches x's hash at x's level (nodes are
// unique within a tree); a data blob is live iff its reference count, updated by the leaves
// that entered and left the live set, is positive. Without a guard, or when the guard has not
// journaled every write since the state was written (a new process), it runs a full collection.
import { Tree, bytesToHex, equalBytes, type Hash } from '@cafs/kv';
import { leafRefs } from './tree-walk.js';
import { GcGuard } from './gc-guard.js';
import { retain } from './gc-retain.js';
import { sweep } from './gc-sweep.js';
import { planIncremental } from './gc-incremental.js';
import { EMPTY_ID, encodeState, metaEntries, readGcState } from './gc-meta.js';
import { dropStaleCuts, recordCuts } from './history-cuts.js';
import { GC_STATE_NAME, PIN_PREFIX } from './ref-names.js';
import { removeEntries } from './reflog.js';
import type { GcOptions, GcReport, Plan, Retention } from './gc-types.js';
import type { Repo } from './repo.js';

export { GcGuard, guardStore, type GuardEpoch } from './gc-guard.js';
export { nodeDiff } from './tree-walk.js';
export { readGcState } from './gc-meta.js';
export { GC_PREFIX, GC_STATE_NAME, PIN_PREFIX } from './ref-names.js';
export type { GcMode, GcOptions, GcProgress, GcReport } from './gc-types.js';

/** Default grace period: blobs put through the guard this recently before a collection are spared. */
export const DEFAULT_GRACE_MS = 60_000;

// ---- pins ----

const pinName = (root: Hash): string => PIN_PREFIX + bytesToHex(root);

/** Keeps `root` (a filesystem root or a commit) through collections until `unpin`. */
export async function pin(repo: Repo, root: Hash): Promise<void> {
  const name = pinName(root);
  try {
    await repo.names.compareAndSwap(name, undefined, root);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_CONFLICT') throw err;
    const now = await repo.names.get(name);
    if (now === undefined || !equalBytes(now, root)) throw err;
  }
}

/** Removes a pin; false if `root` was not pinned. */
export async function unpin(repo: Repo, root: Hash): Promise<boolean> {
  const name = pinName(root);
  const now = await repo.names.get(name);
  if (now === undefined) return false;
  await repo.names.compareAndSwap(name, now, undefined);
  return true;
}

/** The pinned hashes. */
export async function pins(repo: Repo): Promise<Hash[]> {
  const out: Hash[] = [];
  for await (const [, h] of repo.names.list(PIN_PREFIX)) out.push(h);
  return out;
}

// ---- the collection ----

const locks = new WeakMap<object, Promise<unknown>>();

/**
 * Deletes every blob of `repo.store` that no branch, tag, retained commit or pinned root can
 * reach, except what the write barrier protects, and reports what it freed. Collections of one
 * store run one at a time.
 */
export async function gc(repo: Repo, options: GcOptions = {}): Promise<GcReport> {
  const key = options.guard ?? repo.store;
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => collect(repo, options));
  locks.set(key, run);
  return run;
}

async function collect(repo: Repo, options: GcOptions): Promise<GcReport> {
  const t0 = performance.now();
  const guard = options.guard ?? (repo.store instanceof GcGuard ? repo.store : undefined);
  const dryRun = options.dryRun === true;
  const epoch = guard?.begin(options.graceMs ?? DEFAULT_GRACE_MS);
  // The collector writes its meta tree and state through the repo's store, i.e. through the
  // guard: they are journaled and protected like any write. A full collection reads through a
  // tree of its own (a full walk would churn the writers' node cache); an incremental one through
  // the repo's tree, whose cache holds the nodes of recent commits, exactly what it reads.
  let ownTree: Tree | undefined;
  const privateTree = (): Tree => (ownTree ??= new Tree(repo.store, { cacheBytes: options.cacheBytes ?? 64 * 1024 * 1024 }));
  try {
    const state = await readGcState(repo);
    // Retention is read after `begin`: a root named or held before this point is retained, one
    // named later was built from blobs the guard protects (see the rule in gc-guard.ts).
    const held = guard?.heldRoots() ?? [];
    const now = await retain(repo, held.length === 0 ? options : { ...options, pins: [...(options.pins ?? []), ...held] });
    const t1 = performance.now();
    let fallback: string | undefined;
    if (options.mode === 'full') fallback = undefined;
    else if (guard === undefined) fallback = 'no GcGuard: the blobs written since the last collection are unknown';
    else if (state === undefined) fallback = 'no previous collection state';
    else if (guard.base !== bytesToHex(state.hash)) fallback = 'the guard has not journaled every write since the last collection';
    const incremental = options.mode !== 'full' && fallback === undefined;
    const sharedTree = options.cacheBytes === undefined && repo.fs.tree.store === repo.store ? repo.fs.tree : privateTree();
    if (incremental) options.onProgress?.({ phase: 'mark', done: 0, total: 1 });
    const plan = incremental
      ? await planIncremental(sharedTree, repo, now, state!, epoch!.old, options)
      : await planFull(privateTree(), repo, now, options);
    if (incremental) options.onProgress?.({ phase: 'mark', done: 1, total: 1 });
    if (fallback !== undefined) plan.fallback = fallback;
    // Names change only once the plan is made (a store that cannot be planned over, such as a
    // holder's socket, fails above with nothing changed). History is cut (durably) and expired
    // reflog entries go before anything they led to is deleted.
    if (!dryRun) await recordCuts(repo.names, now.newCuts);
    if (!dryRun) await removeEntries(repo.names, now.expiredReflog);
    options.onProgress?.({ phase: 'cut', done: now.newCuts.length, total: now.newCuts.length });

    const stateBytes = encodeState(plan.meta, plan.liveCount);
    const stateHash = await repo.store.put(stateBytes);
    plan.doomed.delete(bytesToHex(stateHash));
    if (!dryRun) await repo.names.compareAndSwap(GC_STATE_NAME, state?.hash, stateHash);
    const t2 = performance.now();

    const swept = await sweep(repo, plan, guard, options);
    // Cuts whose child this collection dropped name nothing any more.
    if (!dryRun) await dropStaleCuts(repo.names, (id) => now.kept.has(id));

    if (guard !== undefined) {
      if (dryRun) guard.release();
      else guard.end(epoch!.old, bytesToHex(stateHash));
    }
    const report: GcReport = {
      mode: plan.mode,
      dryRun,
      blobsDeleted: swept.blobsDeleted,
      bytesDeleted: swept.bytesDeleted,
      blobsKept: plan.liveCount + 1, // and the state blob
      blobsProtected: swept.blobsProtected,
      linksCut: now.newCuts.length,
      reflogExpired: now.expiredReflog.length,
      candidates: plan.candidates,
      rootsRetained: now.roots.size,
      commitsRetained: [...now.kept.values()].filter((k) => k.root !== undefined).length,
      durationMs: performance.now() - t0,
      phases: { retainMs: t1 - t0, planMs: t2 - t1, sweepMs: performance.now() - t2 },
    };
    if (plan.fallback !== undefined) report.fallback = plan.fallback;
    if (options.listDeleted) report.deleted = swept.deleted.sort();
    return report;
  } catch (err) {
    if (guard?.running) {
      if (dryRun) guard.release();
      else guard.abort();
    }
    throw err;
  }
}

/** Marks the live set by walking every retained tree once, then lists every other stored blob. */
async function planFull(tree: Tree, repo: Repo, now: Retention, options: GcOptions): Promise<Plan> {
  const live = new Set<string>();
  const refs = new Map<string, { hash: Hash; n: number }>();
  const onRef = (h: Hash): void => {
    const id = bytesToHex(h);
    const d = refs.get(id);
    if (d !== undefined) d.n++;
    else {
      refs.set(id, { hash: h, n: 1 });
      live.add(id);
    }
  };
  const markTree = async (root: Hash, leaves: boolean): Promise<void> => {
    const rid = bytesToHex(root);
    if (live.has(rid)) return;
    live.add(rid);
    const stack = [await tree.nodes.root(root)];
    let steps = 0;
    while (stack.length > 0) {
      if ((++steps & 255) === 0) options.signal?.throwIfAborted();
      const node = stack.pop()!;
      if (node.level === 0) {
        if (leaves) leafRefs(node, onRef);
        continue;
      }
      for (let i = node.count - 1; i >= 0; i--) {
        const id = node.childId(i);
        if (live.has(id)) continue;
        live.add(id);
        stack.push(tree.nodes.cachedChild(node, i) ?? (await tree.nodes.child(node, i)));
      }
    }
  };
  for (const k of now.kept.keys()) live.add(k);
  let marked = 0;
  options.onProgress?.({ phase: 'mark', done: 0, total: now.roots.size });
  for (const r of now.roots.values()) {
    await markTree(r.hash, true);
    options.onProgress?.({ phase: 'mark', done: ++marked, total: now.roots.size });
  }
  const meta = await tree.build(metaEntries(now, refs));
  await markTree(meta, false);
  live.delete(EMPTY_ID);

  const doomed = new Map<string, Hash>();
  let candidates = 0;
  for await (const h of repo.store.hashes(options)) {
    candidates++;
    const id = bytesToHex(h);
    if (!live.has(id) && id !== EMPTY_ID) doomed.set(id, h);
  }
  return { mode: 'full', doomed, candidates, liveCount: live.size, meta };
}
