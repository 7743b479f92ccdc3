// Batch mutation, level by level.
//
// Each level of the tree is itself a sorted map: level 0 holds the entries, level L+1 holds
// (max key, hash) of every node of level L. So a batch of edits to level 0 is applied by
// re-cutting only the nodes the edits fall in, continuing past them until the cutter lands on
// an old node boundary again (from there the old nodes are what a fresh build would make). The
// nodes removed and added on one level become the edits of the level above.
import { compareBytes, equalBytes } from '../bytes.js';
import type { Hash } from '../hash.js';
import { Chunker } from './chunker.js';
import type { HalfOpenRange } from './entry.js';
import { LevelBuilder } from './level-builder.js';
import { LevelWalker } from './level-walker.js';
import { EMPTY_NODE, patchValue, type TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';
import { MAX_LEAF_EDITS, applyLeafEdits } from './leaf-edits.js';

/** A put (value given) or delete (value undefined); a level's edits are sorted with unique keys. */
export interface LevelEdit {
  key: Uint8Array;
  value: Uint8Array | undefined;
}

interface RemovedNode {
  key: Uint8Array;
  hash: Uint8Array;
}

interface LevelChange {
  removed: RemovedNode[];
  added: TreeNode[];
}

/** Whether every key of a node with bounds (lower, max] lies in the range. */
function coveredBy(lower: Uint8Array | undefined, max: Uint8Array | undefined, range: HalfOpenRange): boolean {
  if (max === undefined) return false;
  const loOk = range.lo === undefined || (lower !== undefined && compareBytes(lower, range.lo) >= 0);
  const hiOk = range.hi === undefined || compareBytes(max, range.hi) < 0;
  return loOk && hiOk;
}

async function applyLevel(
  nodes: NodeStore,
  root: TreeNode,
  level: number,
  edits: readonly LevelEdit[],
  range: HalfOpenRange | undefined,
): Promise<LevelChange> {
  const removed: RemovedNode[] = [];
  const added: TreeNode[] = [];
  const chunker = new Chunker(level, (node) => added.push(node));
  const walker = new LevelWalker(nodes, root, level);
  let e = 0;
  let rangeDone = range === undefined;

  while (e < edits.length || !rangeDone) {
    await walker.seek(rangeDone ? edits[e]!.key : range!.lo);
    for (;;) {
      const last = walker.isLast();
      const max = walker.maxKey();
      if (range !== undefined && !rangeDone && coveredBy(walker.lowerKey(), max, range)) {
        // Wholly deleted: dropped without being read.
        removed.push({ key: max!, hash: walker.hash() });
      } else {
        const node = await walker.load();
        if (max !== undefined) removed.push({ key: max, hash: node.hash });
        const keep = (from: number, to: number): void => {
          if (from >= to) return;
          if (range === undefined) return chunker.addRun(node, from, to);
          // Keep what lies outside [lo, hi).
          const lo = range.lo === undefined ? 0 : node.lowerBound(range.lo);
          const hi = range.hi === undefined ? node.count : node.lowerBound(range.hi);
          if (from < Math.min(to, lo)) chunker.addRun(node, from, Math.min(to, lo));
          if (Math.max(from, hi) < to) chunker.addRun(node, Math.max(from, hi), to);
        };
        let i = 0;
        for (;;) {
          const edit = e < edits.length && (last || compareBytes(edits[e]!.key, max!) <= 0) ? edits[e]! : undefined;
          const stop = edit === undefined ? node.count : node.lowerBound(edit.key);
          keep(i, stop);
          i = stop;
          if (edit === undefined) break;
          if (i < node.count && node.compareKeyAt(i, edit.key) === 0) i++;
          if (edit.value !== undefined) chunker.add(edit.key, edit.value);
          e++;
        }
      }
      if (!rangeDone && (last || (range!.hi !== undefined && compareBytes(max!, range!.hi) >= 0))) rangeDone = true;
      if (last) {
        chunker.finish();
        break;
      }
      // Back on an old boundary with nothing pending: the following nodes stand as they are,
      // up to the node of the next edit. When that is the very next node, walk on to it
      // rather than seeking again from the root.
      await walker.next();
      if (chunker.fresh && rangeDone) {
        if (e >= edits.length) break;
        if (!walker.isLast() && compareBytes(edits[e]!.key, walker.maxKey()!) > 0) break;
      }
    }
  }
  return { removed, added };
}

/**
 * The fast path for one put whose key the level holds already, with a value of the same length
 * (above the leaves: a child's new hash under an unchanged max key, which is what one put
 * makes of every level above the leaf). Keys and payload stay the same, so the node keeps its
 * bounds and is patched in place of re-cut. Undefined when the edit is not of that kind.
 */
async function patchLevel(nodes: NodeStore, root: TreeNode, level: number, edit: LevelEdit): Promise<LevelChange | undefined> {
  const value = edit.value;
  if (value === undefined) return undefined;
  const walker = new LevelWalker(nodes, root, level);
  await walker.seek(edit.key);
  const node = await walker.load();
  const i = node.lowerBound(edit.key);
  if (i >= node.count || node.compareKeyAt(i, edit.key) !== 0) return undefined;
  const o = node.offsets;
  if (o[4 * i + 3]! - o[4 * i + 2]! !== value.length) return undefined;
  // An unchanged value gives back the node itself, as a re-cut would (the level above then
  // sees no edit).
  const same = equalBytes(node.value(i), value);
  return { removed: [{ key: node.maxKey()!, hash: node.hash }], added: [same ? node : patchValue(node, i, value)] };
}

/** The edits a level's change makes to the level above. */
function parentEdits(change: LevelChange): LevelEdit[] {
  const { removed, added } = change;
  const out: LevelEdit[] = [];
  let i = 0;
  let j = 0;
  while (i < removed.length || j < added.length) {
    const cmp =
      i >= removed.length ? 1 : j >= added.length ? -1 : compareBytes(removed[i]!.key, added[j]!.maxKey()!);
    if (cmp < 0) {
      out.push({ key: removed[i]!.key, value: undefined });
      i++;
    } else if (cmp > 0) {
      out.push({ key: added[j]!.maxKey()!, value: added[j]!.hash });
      j++;
    } else {
      if (!equalBytes(removed[i]!.hash, added[j]!.hash)) out.push({ key: removed[i]!.key, value: added[j]!.hash });
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Applies sorted, unique edits (and optionally deletes a key range) to the tree at `rootHash`,
 * writing only the nodes that change. Returns the new root.
 */
export async function mutateTree(
  nodes: NodeStore,
  rootHash: Hash,
  edits: readonly LevelEdit[],
  range?: HalfOpenRange,
  signal?: AbortSignal,
): Promise<Hash> {
  if (range === undefined && edits.length <= MAX_LEAF_EDITS) {
    signal?.throwIfAborted();
    const fast = applyLeafEdits(nodes, rootHash, edits);
    if (fast !== undefined) {
      if (fast.created.length === 0) return rootHash;
      for (const node of fast.created) nodes.remember(node);
      await nodes.write(fast.created);
      return fast.root.hash;
    }
  }
  const root = await nodes.root(rootHash);
  const created: TreeNode[] = [];
  let levelEdits = edits;
  let levelRange = range;
  let newRoot: TreeNode | undefined;
  for (let level = 0; ; level++) {
    signal?.throwIfAborted();
    if (levelEdits.length === 0 && levelRange === undefined) return rootHash;
    const change =
      (levelRange === undefined && levelEdits.length === 1 ? await patchLevel(nodes, root, level, levelEdits[0]!) : undefined) ??
      (await applyLevel(nodes, root, level, levelEdits, levelRange));
    created.push(...change.added);
    if (level === root.level) {
      if (change.added.length <= 1) {
        newRoot = change.added[0];
      } else {
        const above = new LevelBuilder(level + 1, (node) => created.push(node));
        for (const node of change.added) above.add(node.maxKey()!, node.hash);
        newRoot = above.finish();
      }
      break;
    }
    levelEdits = parentEdits(change);
    levelRange = undefined;
  }
  if (newRoot === undefined) return EMPTY_NODE.hash;
  for (const node of created) nodes.remember(node);
  // A top level left with a single child is not a level of the canonical tree.
  while (newRoot.level > 0 && newRoot.count === 1) {
    newRoot = nodes.cachedChild(newRoot, 0) ?? (await nodes.child(newRoot, 0));
  }
  const top = newRoot.level;
  await nodes.write(created.filter((node) => node.level <= top));
  return newRoot.hash;
}
