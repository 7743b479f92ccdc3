// What a destination needs to hold some commits or roots, given what it has: computed where
// the blobs are (the source), proportional to the change when the destination holds an older
// version (a node-level tree diff against it), in an order that keeps the destination whole.
import { EMPTY_ROOT, Tree, bytesToHex, parseHash, type BlobStore, type Hash, type TreeNode } from '@cafs/kv';
import { tryDecodeCommit, type Commit } from '../commit.js';
import { isNotFound, leafRefs, loadNode, nodeDiff, tryGet } from '../tree-walk.js';
import { SyncError } from './errors.js';
import { HistoryCuts } from '../history-cuts.js';

const hexToHash = (id: string): Hash => parseHash(id);

export type PlanKind = 'data' | 'node' | 'commit';

export interface PlanItem {
  hash: Hash;
  kind: PlanKind;
}

export interface SyncRequest {
  /** Commits or roots the destination wants (with their history, for commits). */
  want: readonly Hash[];
  /** Commits or roots the destination holds already, whole (their trees and history). */
  have?: readonly Hash[] | undefined;
}

/**
 * The blobs to send, in an order in which storing them keeps the destination's invariant (a
 * stored node has its whole subtree, a stored commit its tree and history): data blobs first,
 * then tree nodes from the leaves up, each commit after its tree and its parents. Blobs the
 * destination already holds may appear (a changed leaf lists all its data blobs); it filters
 * them with `has`. Nothing below a subtree shared with a `have` is listed or read.
 */
export interface PlanOptions {
  signal?: AbortSignal | undefined;
  /** The source's history cuts: a cut parent link ends the history sent, as a missing parent does. */
  cuts?: HistoryCuts | undefined;
}

export async function planTransfer(store: BlobStore | Tree, request: SyncRequest, options: PlanOptions = {}): Promise<PlanItem[]> {
  const tree = store instanceof Tree ? store : new Tree(store);
  const signal = options.signal;
  const cuts = options.cuts ?? HistoryCuts.none;
  const planned = new Set<string>();
  const plan: PlanItem[] = [];
  const add = (hash: Hash, kind: PlanKind): void => {
    const id = bytesToHex(hash);
    if (planned.has(id)) return;
    planned.add(id);
    plan.push({ hash, kind });
  };

  // What the destination has: commits (with their roots) and roots, as the source knows them.
  const haveIds = new Set<string>();
  const rootOf = new Map<string, Hash>();
  const haveRoots: Hash[] = [];
  for (const h of request.have ?? []) {
    haveIds.add(bytesToHex(h));
    const bytes = await tryGet(tree.store, h);
    if (bytes === undefined) continue;
    const c = tryDecodeCommit(bytes);
    if (c !== undefined) {
      rootOf.set(bytesToHex(h), c.root);
      haveRoots.push(c.root);
    } else haveRoots.push(h);
  }
  for (const r of haveRoots) planned.add(bytesToHex(r));

  // The commits to send, parents before children; a commit absent here ends its history
  // (garbage collection's --keep-last leaves such shallow boundaries).
  const wantRoots: Hash[] = [];
  const commits: { hash: Hash; commit: Commit }[] = [];
  const visited = new Set<string>();
  for (const w of request.want) {
    const bytes = await tryGet(tree.store, w);
    if (bytes === undefined) throw new SyncError('ERR_UNKNOWN_REF', `the source has no commit or root ${bytesToHex(w)}`);
    const c = tryDecodeCommit(bytes);
    if (c === undefined) {
      wantRoots.push(w);
      continue;
    }
    const stack: { hash: Hash; commit: Commit; parents: Hash[]; next: number }[] = [];
    const enter = (hash: Hash, commit: Commit): void => {
      visited.add(bytesToHex(hash));
      stack.push({ hash, commit, parents: cuts.parents(hash, commit), next: 0 });
    };
    if (!visited.has(bytesToHex(w)) && !haveIds.has(bytesToHex(w))) enter(w, c);
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const top = stack[stack.length - 1]!;
      if (top.next < top.parents.length) {
        const p = top.parents[top.next++]!;
        const id = bytesToHex(p);
        if (visited.has(id) || haveIds.has(id)) continue;
        const pb = await tryGet(tree.store, p);
        const pc = pb === undefined ? undefined : tryDecodeCommit(pb);
        if (pc !== undefined) enter(p, pc);
        continue;
      }
      stack.pop();
      commits.push({ hash: top.hash, commit: top.commit });
    }
  }

  const planRoot = async (root: Hash, base: Hash | undefined): Promise<void> => {
    if (planned.has(bytesToHex(root)) || bytesToHex(root) === bytesToHex(EMPTY_ROOT)) return;
    const fresh: Hash[] = [];
    const baseRefs = new Set<string>();
    if (base !== undefined) {
      const left = new Set<string>();
      const right: Hash[] = [];
      try {
        await nodeDiff(tree, base, root, (side, h) => (side === 'left' ? left.add(bytesToHex(h)) : right.push(h)), signal);
      } catch (err) {
        // A base this side no longer holds whole: fall back to sending the tree.
        if (!isNotFound(err)) throw err;
        base = undefined;
      }
      const rightIds = new Set(right.map((h) => bytesToHex(h)));
      for (const h of right) if (!left.has(bytesToHex(h))) fresh.push(h);
      // Data blobs the base's changed leaves refer to are there already: a changed leaf
      // lists only its new extents.
      for (const id of left) {
        if (rightIds.has(id)) continue;
        const node = tree.nodes.cachedHash(hexToHash(id)) ?? (await loadNode(tree, hexToHash(id)));
        if (node !== undefined && node.level === 0) leafRefs(node, (ref) => baseRefs.add(bytesToHex(ref)));
      }
    }
    if (base === undefined) {
      fresh.length = 0;
      for await (const h of tree.reachableNodes(root, { signal })) fresh.push(h);
    }
    const nodes: TreeNode[] = [];
    for (const h of fresh) {
      if (planned.has(bytesToHex(h))) continue;
      const node = await loadNode(tree, h);
      if (node === undefined) throw new SyncError('ERR_INCOMPLETE', `the source lacks tree node ${bytesToHex(h)} of root ${bytesToHex(root)}`);
      nodes.push(node);
      if (node.level === 0) leafRefs(node, (ref) => baseRefs.has(bytesToHex(ref)) || add(ref, 'data'));
    }
    nodes.sort((a, b) => a.level - b.level);
    for (const n of nodes) add(n.hash, 'node');
  };

  for (const { hash, commit } of commits) {
    signal?.throwIfAborted();
    let base: Hash | undefined;
    for (const p of commit.parents) {
      base = rootOf.get(bytesToHex(p));
      if (base !== undefined) break;
    }
    await planRoot(commit.root, base ?? haveRoots[0]);
    rootOf.set(bytesToHex(hash), commit.root);
    add(hash, 'commit');
  }
  for (const r of wantRoots) await planRoot(r, haveRoots[0]);
  return plan;
}
