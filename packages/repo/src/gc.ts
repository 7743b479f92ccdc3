// Garbage collection of a repository's blob store.
//
// What is kept (the live set): every retained commit blob; every node of the tree of every
// retained root; every data blob an extent of those trees references; and the collector's own
// state (a state blob named 'refs/gc/state' and the nodes of its meta tree). Retained: every
// branch head and, per branch, the history the options keep (keepLast / keepNewerThan, default
// all of it); every tag's commit; every pinned root or commit ('refs/pins/<hex>' names,
// `options.pins`, and roots held in memory through the guard); and, conservatively, whatever
// any other name in the names table holds. Everything else is deleted, except blobs the
// GcGuard protects.
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
import { Encoder, decode } from 'cbor-x';
import {
  EMPTY_ROOT,
  Tree,
  bytesToHex,
  compareBytes,
  decodeNode,
  equalBytes,
  type Edit,
  type Entry,
  type Hash,
  type TreeNode,
} from '@cafs/kv';
import { tryDecodeCommit, type Commit } from './commit.js';
import { leafRefs, loadNode, nodeDiff, treeHasNode, tryGet } from './tree-walk.js';
import { RepoError } from './errors.js';
import { GcGuard } from './gc-guard.js';
import { BRANCH_PREFIX, REMOTE_PREFIX, TAG_PREFIX, type Repo } from './repo.js';

export { GcGuard, guardStore, type GuardEpoch } from './gc-guard.js';
export { nodeDiff } from './tree-walk.js';

export const PIN_PREFIX = 'refs/pins/';
export const GC_PREFIX = 'refs/gc/';
/** The name of the collector's state blob. */
export const GC_STATE_NAME = 'refs/gc/state';
/** Default grace period: blobs put through the guard this recently before a collection are spared. */
export const DEFAULT_GRACE_MS = 60_000;

export type GcMode = 'full' | 'incremental';

export interface GcOptions {
  /** 'incremental' (default) falls back to 'full' when it cannot be exact (see GcReport.fallback). */
  mode?: GcMode | undefined;
  /** Keep the last N commits of each branch's history (newest first, all parents); default all. */
  keepLast?: number | undefined;
  /** Keep the commits of each branch newer than this. With keepLast too, a commit either keeps is kept. */
  keepNewerThan?: Date | undefined;
  /** More roots (or commits) to keep, besides the 'refs/pins/' names and the guard's held roots. */
  pins?: readonly Hash[] | undefined;
  /** Spare blobs put through the guard less than this long before the collection began (default 60 s). */
  graceMs?: number | undefined;
  /** The write barrier; default: `repo.store` when it is a GcGuard. Without one, no writer may run. */
  guard?: GcGuard | undefined;
  /** Compute what would be deleted, delete nothing (the new state's blobs are still written). */
  dryRun?: boolean | undefined;
  /** Return the deleted (or, in a dry run, deletable) hashes in the report. */
  listDeleted?: boolean | undefined;
  /**
   * Node cache of the collector's own tree reader (default 64 MiB; full collections only, unless
   * given: incremental ones otherwise read through `repo.fs.tree` and its cache).
   */
  cacheBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called as the collection goes: roots marked (full; incremental: 0 then 1 of 1), then blobs swept. */
  onProgress?: ((p: GcProgress) => void) | undefined;
}

/** Where a collection is: `done` of `total` roots marked ('mark') or doomed blobs deleted ('sweep'). */
export interface GcProgress {
  phase: 'mark' | 'sweep';
  done: number;
  total: number;
}

export interface GcReport {
  /** The mode that ran. */
  mode: GcMode;
  /** Why an incremental collection ran as a full one. */
  fallback?: string | undefined;
  dryRun: boolean;
  blobsDeleted: number;
  bytesDeleted: number;
  /** Size of the live set after the collection (retained commits, their nodes and data, gc state). */
  blobsKept: number;
  /** Unreachable blobs spared because they were written during (or within the grace period before) the collection. */
  blobsProtected: number;
  /** Blobs examined as deletion candidates (full: every stored blob). */
  candidates: number;
  /** Distinct filesystem roots retained. */
  rootsRetained: number;
  commitsRetained: number;
  durationMs: number;
  /** Where the time went, in ms: reading names and history, computing what to delete, deleting. */
  phases: { retainMs: number; planMs: number; sweepMs: number };
  /** Hex hashes deleted (with `listDeleted`), sorted. */
  deleted?: string[] | undefined;
}

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

// ---- retention ----

interface Retention {
  /** Hex -> blob kept by hash: commits (with their root) and non-node pins (no root). */
  kept: Map<string, { hash: Hash; root: Hash | undefined }>;
  /** Hex -> retained root, labelled with the first branch that retained it ('' for tags and pins). */
  roots: Map<string, { hash: Hash; label: string }>;
  /** Branch -> its head's root. */
  heads: Map<string, Hash>;
}

async function retain(repo: Repo, options: GcOptions): Promise<Retention> {
  const r: Retention = { kept: new Map(), roots: new Map(), heads: new Map() };
  const addRoot = (root: Hash, label: string): void => {
    const id = bytesToHex(root);
    if (!r.roots.has(id)) r.roots.set(id, { hash: root, label });
  };
  const addCommit = (hash: Hash, c: Commit, label: string): void => {
    r.kept.set(bytesToHex(hash), { hash, root: c.root });
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
  const pinned: Hash[] = [];
  const others: Hash[] = [];
  for await (const [name, h] of repo.names.list('')) {
    if (name.startsWith(BRANCH_PREFIX)) branches.push([name.slice(BRANCH_PREFIX.length), h]);
    // Remote-tracking branches keep their history as local ones do (a later fetch diffs against it).
    else if (name.startsWith(REMOTE_PREFIX)) branches.push([name.slice('refs/'.length), h]);
    else if (name.startsWith(TAG_PREFIX)) tags.push(h);
    else if (name.startsWith(PIN_PREFIX)) pinned.push(h);
    else if (!name.startsWith(GC_PREFIX)) others.push(h); // another feature's refs: keep what they name
  }
  for (const [branch, head] of branches) {
    options.signal?.throwIfAborted();
    const headCommit = await repo.readCommit(head);
    r.heads.set(branch, headCommit.root);
    // Newest first over all parents, as `repo.log`; parents deleted by earlier collections end the walk.
    const seen = new Set<string>([bytesToHex(head)]);
    const queue: { hash: Hash; commit: Commit }[] = [{ hash: head, commit: headCommit }];
    for (let n = 0; queue.length > 0; n++) {
      let best = 0;
      for (let i = 1; i < queue.length; i++) if (queue[i]!.commit.timeNs > queue[best]!.commit.timeNs) best = i;
      const e = queue.splice(best, 1)[0]!;
      const keep =
        n === 0 || keepAll || (keepLast !== undefined && n < keepLast) || (cutoff !== undefined && e.commit.timeNs >= cutoff);
      if (!keep) break;
      addCommit(e.hash, e.commit, branch);
      for (const p of e.commit.parents) {
        const id = bytesToHex(p);
        if (seen.has(id)) continue;
        seen.add(id);
        const bytes = await tryGet(repo.store, p);
        const c = bytes && tryDecodeCommit(bytes);
        if (c) queue.push({ hash: p, commit: c });
      }
    }
  }
  for (const h of [...tags, ...pinned, ...(options.pins ?? []), ...others]) await addTarget(h);
  return r;
}

// ---- the meta tree and the state blob ----

const K_KEPT = 0x63; // 'c' + hash -> root (commits) or empty (other kept blobs)
const K_DATA = 0x64; // 'd' + hash -> decimal reference count
const K_HEAD = 0x68; // 'h' + branch -> head root
const K_ROOT = 0x72; // 'r' + root -> label
const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);
const EMPTY_ID = bytesToHex(EMPTY_ROOT);
const STATE_TAG = 'cafs-gc-state-v1';
const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });

function metaKey(kind: number, body: Uint8Array): Uint8Array {
  const k = new Uint8Array(body.length + 1);
  k[0] = kind;
  k.set(body, 1);
  return k;
}

const countValue = (n: number): Uint8Array => enc.encode(String(n));

function metaEntries(r: Retention, refs: Map<string, { hash: Hash; n: number }>): Entry[] {
  const out: Entry[] = [];
  for (const k of r.kept.values()) out.push({ key: metaKey(K_KEPT, k.hash), value: k.root ?? EMPTY });
  for (const d of refs.values()) if (d.n > 0) out.push({ key: metaKey(K_DATA, d.hash), value: countValue(d.n) });
  for (const [b, root] of r.heads) out.push({ key: metaKey(K_HEAD, enc.encode(b)), value: root });
  for (const x of r.roots.values()) out.push({ key: metaKey(K_ROOT, x.hash), value: enc.encode(x.label) });
  return out.sort((a, b) => compareBytes(a.key, b.key));
}

interface State {
  hash: Hash;
  meta: Hash;
  liveCount: number;
}

function encodeState(meta: Hash, liveCount: number): Uint8Array {
  return cbor.encode([STATE_TAG, meta, liveCount]) as Uint8Array;
}

/** The state the last collection left ('refs/gc/state'), if any and readable. */
export async function readGcState(repo: Repo): Promise<State | undefined> {
  const hash = await repo.names.get(GC_STATE_NAME);
  if (hash === undefined) return undefined;
  const bytes = await tryGet(repo.store, hash);
  if (bytes === undefined) return undefined;
  try {
    const v = decode(bytes) as unknown;
    if (Array.isArray(v) && v[0] === STATE_TAG && v[1] instanceof Uint8Array && typeof v[2] === 'number') {
      return { hash, meta: v[1], liveCount: v[2] };
    }
  } catch {
    // not a state blob
  }
  return undefined;
}

/** The retained set a meta tree describes (not its data counts). */
async function readMeta(tree: Tree, meta: Hash): Promise<Retention> {
  const r: Retention = { kept: new Map(), roots: new Map(), heads: new Map() };
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_KEPT), lt: Uint8Array.of(K_DATA) })) {
    const hash = e.key.slice(1);
    r.kept.set(bytesToHex(hash), { hash, root: e.value.length > 0 ? e.value.slice() : undefined });
  }
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_HEAD), lt: Uint8Array.of(K_HEAD + 1) })) {
    r.heads.set(dec.decode(e.key.subarray(1)), e.value.slice());
  }
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_ROOT), lt: Uint8Array.of(K_ROOT + 1) })) {
    const hash = e.key.slice(1);
    r.roots.set(bytesToHex(hash), { hash, label: dec.decode(e.value) });
  }
  return r;
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

interface Plan {
  mode: GcMode;
  fallback?: string;
  /** Blobs to delete (not yet filtered by the guard), hex -> hash. */
  doomed: Map<string, Hash>;
  candidates: number;
  liveCount: number;
  /** Size of the live set, the state blob left out. */
  meta: Hash;
  /** Sizes of doomed blobs the plan has read already (hex -> bytes). */
  sizes?: Map<string, number>;
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

    const stateBytes = encodeState(plan.meta, plan.liveCount);
    const stateHash = await repo.store.put(stateBytes);
    plan.doomed.delete(bytesToHex(stateHash));
    if (!dryRun) await repo.names.compareAndSwap(GC_STATE_NAME, state?.hash, stateHash);
    const t2 = performance.now();

    // Sweep: in batches, each filtered by the guard at the moment it is deleted.
    let blobsDeleted = 0;
    let bytesDeleted = 0;
    let blobsProtected = 0;
    const deleted: string[] = [];
    const list = [...plan.doomed.values()];
    options.onProgress?.({ phase: 'sweep', done: 0, total: list.length });
    for (let i = 0; i < list.length; i += 1024) {
      options.signal?.throwIfAborted();
      const batch = list.slice(i, i + 1024);
      const sizes = new Map<string, number>();
      const known = plan.sizes;
      const lengths = await Promise.all(
        batch.map(async (h) => known?.get(bytesToHex(h)) ?? (await tryGet(repo.store, h))?.length ?? 0),
      );
      batch.forEach((h, j) => sizes.set(bytesToHex(h), lengths[j]!));
      let gone: Hash[];
      if (guard === undefined) {
        gone = batch;
        if (!dryRun) await repo.store.delete(batch);
      } else if (dryRun) {
        gone = batch.filter((h) => !guard.isProtected(bytesToHex(h)));
      } else {
        gone = await guard.sweep(batch);
      }
      blobsProtected += batch.length - gone.length;
      blobsDeleted += gone.length;
      for (const h of gone) {
        const id = bytesToHex(h);
        bytesDeleted += sizes.get(id)!;
        if (options.listDeleted) deleted.push(id);
      }
      options.onProgress?.({ phase: 'sweep', done: i + batch.length, total: list.length });
    }

    if (guard !== undefined) {
      if (dryRun) guard.release();
      else guard.end(epoch!.old, bytesToHex(stateHash));
    }
    const report: GcReport = {
      mode: plan.mode,
      dryRun,
      blobsDeleted,
      bytesDeleted,
      blobsKept: plan.liveCount + 1, // and the state blob
      blobsProtected,
      candidates: plan.candidates,
      rootsRetained: now.roots.size,
      commitsRetained: [...now.kept.values()].filter((k) => k.root !== undefined).length,
      durationMs: performance.now() - t0,
      phases: { retainMs: t1 - t0, planMs: t2 - t1, sweepMs: performance.now() - t2 },
    };
    if (plan.fallback !== undefined) report.fallback = plan.fallback;
    if (options.listDeleted) report.deleted = deleted.sort();
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

/** Candidates from what changed since the previous collection, each checked against the live set. */
async function planIncremental(
  tree: Tree,
  repo: Repo,
  now: Retention,
  state: State,
  journal: readonly Hash[],
  options: GcOptions,
): Promise<Plan> {
  const signal = options.signal;
  const before = await readMeta(tree, state.meta);
  const rootsNow = [...now.roots.values()].map((r) => r.hash).sort(compareBytes);
  const rootsBefore = [...before.roots.values()].map((r) => r.hash).sort(compareBytes);
  const anyRoot = (rs: Hash[]): Hash | undefined => rs[0];

  // Nodes seen by the diffs, and what is known of them.
  const dropNodes = new Map<string, Hash>(); // only on the dropped side of some diff
  const addNodes = new Map<string, Hash>(); // only on the new side of some diff
  const inNow = new Map<string, boolean>(); // memo: node is in some retained root now
  const inBefore = new Map<string, boolean>();
  const nodeIn = async (memo: Map<string, boolean>, roots: Hash[], x: TreeNode): Promise<boolean> => {
    const id = x.id;
    let v = memo.get(id);
    if (v === undefined) {
      v = false;
      for (const r of roots) if (await treeHasNode(tree, r, x)) { v = true; break; }
      memo.set(id, v);
    }
    return v;
  };
  /**
   * Diffs `from` (or nothing) against `to`: nodes only in `from` go to `left`, nodes only in
   * `to` to `right`. A pair is diffed once (a moved branch is both a dropped and a new root).
   */
  const diffs = new Map<string, { l: Map<string, Hash>; r: Map<string, Hash> }>();
  const changed = async (from: Hash | undefined, to: Hash, left: Map<string, Hash>, right: Map<string, Hash>): Promise<void> => {
    const pair = `${from === undefined ? '' : bytesToHex(from)}:${bytesToHex(to)}`;
    let d = diffs.get(pair);
    if (d === undefined) {
      const l = new Map<string, Hash>();
      const r = new Map<string, Hash>();
      if (from === undefined) {
        for await (const h of tree.reachableNodes(to, { signal })) r.set(bytesToHex(h), h);
      } else {
        await nodeDiff(tree, from, to, (side, h) => (side === 'left' ? l : r).set(bytesToHex(h), h), signal);
        // A node on both sides of one diff is in both trees.
        for (const id of [...l.keys()]) {
          if (r.has(id)) {
            l.delete(id);
            r.delete(id);
          }
        }
      }
      d = { l, r };
      diffs.set(pair, d);
    }
    for (const [id, h] of d.l) left.set(id, h);
    for (const [id, h] of d.r) right.set(id, h);
  };

  // Roots that left the retained set, each against its branch's head now (or any retained root).
  for (const [id, d] of before.roots) {
    if (now.roots.has(id)) continue;
    const succ = now.heads.get(d.label) ?? anyRoot(rootsNow);
    if (succ === undefined) await changed(undefined, d.hash, new Map(), dropNodes);
    else await changed(d.hash, succ, dropNodes, new Map());
  }
  // Roots that entered it, each against its branch's previous head (or any previously retained root).
  for (const [id, n] of now.roots) {
    if (before.roots.has(id)) continue;
    const base = before.heads.get(n.label) ?? anyRoot(rootsBefore);
    await changed(base, n.hash, new Map(), addNodes);
  }

  // Leaves that left / entered the live set move the data reference counts.
  const delta = new Map<string, { hash: Hash; n: number }>();
  const bump = (h: Hash, by: number): void => {
    const id = bytesToHex(h);
    const d = delta.get(id);
    if (d !== undefined) d.n += by;
    else delta.set(id, { hash: h, n: by });
  };
  const droppedNodes = new Map<string, Hash>(); // verified: in live(P), not in any retained tree now
  for (const [id, h] of dropNodes) {
    signal?.throwIfAborted();
    const x = await loadNode(tree, h);
    if (x === undefined || (await nodeIn(inNow, rootsNow, x))) continue;
    droppedNodes.set(id, h);
    if (x.level === 0) leafRefs(x, (r) => bump(r, -1));
  }
  const addedNodes = new Map<string, Hash>(); // verified: in a retained tree now, in none before
  for (const [id, h] of addNodes) {
    signal?.throwIfAborted();
    const x = await loadNode(tree, h);
    if (x === undefined || (await nodeIn(inBefore, rootsBefore, x))) continue;
    addedNodes.set(id, h);
    if (x.level === 0) leafRefs(x, (r) => bump(r, +1));
  }

  // The new meta tree: edits for what changed.
  const edits: Edit[] = [];
  const countBefore = new Map<string, number>();
  const dataBefore = async (id: string, h: Hash): Promise<number> => {
    let n = countBefore.get(id);
    if (n === undefined) {
      const v = await tree.get(state.meta, metaKey(K_DATA, h));
      n = v === undefined ? 0 : Number(dec.decode(v));
      countBefore.set(id, n);
    }
    return n;
  };
  for (const [id, d] of delta) {
    if (d.n === 0) continue;
    const n = (await dataBefore(id, d.hash)) + d.n;
    if (n < 0) throw new Error(`gc state is inconsistent: data blob ${id} has a negative reference count`);
    edits.push(n === 0 ? { type: 'del', key: metaKey(K_DATA, d.hash) } : { type: 'put', key: metaKey(K_DATA, d.hash), value: countValue(n) });
  }
  for (const [id, k] of before.kept) if (!now.kept.has(id)) edits.push({ type: 'del', key: metaKey(K_KEPT, k.hash) });
  for (const [id, k] of now.kept) {
    const b = before.kept.get(id);
    if (b === undefined || (b.root === undefined) !== (k.root === undefined)) edits.push({ type: 'put', key: metaKey(K_KEPT, k.hash), value: k.root ?? EMPTY });
  }
  for (const br of before.heads.keys()) if (!now.heads.has(br)) edits.push({ type: 'del', key: metaKey(K_HEAD, enc.encode(br)) });
  for (const [br, root] of now.heads) {
    const b = before.heads.get(br);
    if (b === undefined || !equalBytes(b, root)) edits.push({ type: 'put', key: metaKey(K_HEAD, enc.encode(br)), value: root });
  }
  for (const [id, r] of before.roots) if (!now.roots.has(id)) edits.push({ type: 'del', key: metaKey(K_ROOT, r.hash) });
  for (const [id, r] of now.roots) {
    const b = before.roots.get(id);
    if (b === undefined || b.label !== r.label) edits.push({ type: 'put', key: metaKey(K_ROOT, r.hash), value: enc.encode(r.label) });
  }
  const meta = await tree.mutate(state.meta, edits);
  const metaDrop = new Map<string, Hash>();
  const metaAdd = new Map<string, Hash>();
  await changed(state.meta, meta, metaDrop, metaAdd);

  // Exact liveness on either side.
  const dataNow = async (id: string, h: Hash): Promise<number> => (await dataBefore(id, h)) + (delta.get(id)?.n ?? 0);
  const aliveNow = async (id: string, h: Hash): Promise<boolean> => {
    if (id === EMPTY_ID) return true;
    if (now.kept.has(id) || (await dataNow(id, h)) > 0) return true;
    if (addedNodes.has(id)) return true;
    const x = await loadNode(tree, h);
    return x !== undefined && ((await nodeIn(inNow, rootsNow, x)) || (await treeHasNode(tree, meta, x)));
  };
  const aliveBefore = async (id: string, h: Hash): Promise<boolean> => {
    if (id === EMPTY_ID) return true;
    if (before.kept.has(id) || (await dataBefore(id, h)) > 0) return true;
    if (droppedNodes.has(id)) return true;
    const x = await loadNode(tree, h);
    return x !== undefined && ((await nodeIn(inBefore, rootsBefore, x)) || (await treeHasNode(tree, state.meta, x)));
  };

  // What left the live set (all of it was live before), and what entered it.
  const leaving = new Map<string, Hash>(droppedNodes);
  for (const [id, d] of delta) if (d.n < 0) leaving.set(id, d.hash);
  for (const [id, k] of before.kept) if (!now.kept.has(id)) leaving.set(id, k.hash);
  for (const [id, h] of metaDrop) leaving.set(id, h);
  const entering = new Map<string, Hash>(addedNodes);
  for (const [id, d] of delta) if (d.n > 0) entering.set(id, d.hash);
  for (const [id, k] of now.kept) if (!before.kept.has(id)) entering.set(id, k.hash);
  for (const [id, h] of metaAdd) entering.set(id, h);

  // The live count leaves out the state blob itself (the report adds it).
  let liveCount = state.liveCount;
  const doomed = new Map<string, Hash>();
  for (const [id, h] of leaving) {
    signal?.throwIfAborted();
    if (await aliveNow(id, h)) continue;
    liveCount--;
    doomed.set(id, h);
  }
  for (const [id, h] of entering) {
    signal?.throwIfAborted();
    if (!(await aliveBefore(id, h))) liveCount++;
  }
  // The old state blob (the caller spares it if the new state is the same blob).
  const stateId = bytesToHex(state.hash);
  if (!(await aliveNow(stateId, state.hash))) doomed.set(stateId, state.hash);
  // Blobs written since the last collection: deleted unless live.
  for (const h of journal) {
    signal?.throwIfAborted();
    const id = bytesToHex(h);
    if (doomed.has(id)) continue;
    if (!(await aliveNow(id, h))) doomed.set(id, h);
  }
  const candidates = new Set([...leaving.keys(), ...journal.map((h) => bytesToHex(h))]).size + 1;
  const sizes = new Map<string, number>();
  for (const [id, hash] of doomed) {
    const n = tree.nodes.cachedHash(hash);
    if (n !== undefined && id !== EMPTY_ID) sizes.set(id, n.bytes.length);
  }
  return { mode: 'incremental', doomed, candidates, liveCount, meta, sizes };
}
