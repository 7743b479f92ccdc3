// The fast path of a small batch of edits (one put or delete, or the few keys a filesystem
// change writes: a file's keys and its directory's, often in two leaves).
//
// Most such batches change a few leaves without moving any boundary: each leaf re-cut gives back
// one node that ends at the same key, and every level above only swaps the hashes of some
// children (values of the same length under the same keys). When every node on those paths is
// cached, that is done here synchronously, without the level-by-level machinery of mutate.ts.
// Anything else (a split, a merge, a new largest key, an uncached node) is left to mutateTree,
// which gives the same tree: this path only takes edits whose outcome it can see is the same.
import { equalBytes } from '../bytes.js';
import type { Hash } from '../hash.js';
import { Chunker } from './chunker.js';
import type { LevelEdit } from './mutate.js';
import { patchValues, type TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

export interface LeafEditResult {
  root: TreeNode;
  /** The nodes made, each before its parent; empty when the edits changed nothing. */
  created: TreeNode[];
}

/** Edits this path takes at most (more go the general way). */
export const MAX_LEAF_EDITS = 64;

/**
 * Applies sorted, unique edits (a value: put; undefined: delete) if the fast path can;
 * undefined when the caller must take the general path.
 */
export function applyLeafEdits(nodes: NodeStore, rootHash: Hash, edits: readonly LevelEdit[]): LeafEditResult | undefined {
  if (edits.length === 0 || edits.length > MAX_LEAF_EDITS) return undefined;
  const root = nodes.cachedRoot(rootHash);
  if (root === undefined || root.count === 0) return undefined;
  const created: TreeNode[] = [];
  const out = rewriteSubtree(nodes, root, edits, 0, edits.length, true, created);
  return out === undefined ? undefined : { root: out, created };
}

/**
 * `node` with edits [from, to) applied (all within its key range, or past the level's end when
 * `lastOfLevel`), if its boundaries stay; the node itself when nothing changes.
 */
function rewriteSubtree(
  nodes: NodeStore,
  node: TreeNode,
  edits: readonly LevelEdit[],
  from: number,
  to: number,
  lastOfLevel: boolean,
  created: TreeNode[],
): TreeNode | undefined {
  if (node.level === 0) {
    const leaf = to - from === 1 ? rewriteLeaf(node, edits[from]!, lastOfLevel) : rewriteLeafMany(node, edits, from, to, lastOfLevel);
    if (leaf !== undefined && leaf !== node) created.push(leaf);
    return leaf;
  }
  let changed: number[] | undefined;
  let hashes: Uint8Array[] | undefined;
  for (let k = from; k < to; ) {
    const i = node.childIndexFor(edits[k]!.key);
    // The edits for child i: keys up to its largest (every key past the last child's goes to it).
    let e = k + 1;
    if (i === node.count - 1) e = to;
    else while (e < to && node.compareKeyAt(i, edits[e]!.key) >= 0) e++;
    const child = nodes.cachedChild(node, i);
    if (child === undefined) return undefined;
    const out = rewriteSubtree(nodes, child, edits, k, e, lastOfLevel && i === node.count - 1, created);
    if (out === undefined) return undefined;
    if (out !== child) {
      (changed ??= []).push(i);
      (hashes ??= []).push(out.hash);
    }
    k = e;
  }
  if (changed === undefined) return node;
  const patched = patchValues(node, changed, hashes!);
  created.push(patched);
  return patched;
}

/** rewriteLeaf for edits [first, end) (sorted, unique keys). */
function rewriteLeafMany(leaf: TreeNode, edits: readonly LevelEdit[], first: number, end: number, lastOfLevel: boolean): TreeNode | undefined {
  const out: TreeNode[] = [];
  const chunker = new Chunker(0, (n) => out.push(n));
  let from = 0;
  for (let k = first; k < end; k++) {
    const edit = edits[k]!;
    const i = leaf.lowerBound(edit.key);
    // Beyond the leaf's largest key, or deleting it: the bound the parent holds changes.
    if (i >= leaf.count) return undefined;
    const exists = leaf.compareKeyAt(i, edit.key) === 0;
    if (exists && edit.value === undefined && i === leaf.count - 1) return undefined;
    chunker.addRun(leaf, from, i);
    if (edit.value !== undefined) chunker.add(edit.key, edit.value);
    from = exists ? i + 1 : i;
  }
  chunker.addRun(leaf, from, leaf.count);
  // A leaf that is not the level's last must end on a cut, as the old one did, for the leaves
  // after it to stand as they are.
  if (lastOfLevel) chunker.finish();
  else if (!chunker.fresh) return undefined;
  if (out.length !== 1) return undefined;
  // Edits that changed nothing give back the leaf itself, as the general path does.
  return equalBytes(out[0]!.hash, leaf.hash) ? leaf : out[0];
}

/**
 * The leaf with the edit applied, if it stays one node with the same largest key; the leaf
 * itself when the edit changes nothing; undefined otherwise.
 */
function rewriteLeaf(leaf: TreeNode, edit: LevelEdit, lastOfLevel: boolean): TreeNode | undefined {
  const { key, value } = edit;
  const i = leaf.lowerBound(key);
  if (i < leaf.count && leaf.compareKeyAt(i, key) === 0) {
    // An overwrite with a value of the same length: same layout, patched in place of re-cut.
    const old = leaf.value(i);
    if (value !== undefined && old.length === value.length) return equalBytes(old, value) ? leaf : patchValues(leaf, [i], [value]);
  } else if (value === undefined && i < leaf.count) {
    return leaf; // deleting a key the leaf does not hold
  }
  return rewriteLeafMany(leaf, [edit], 0, 1, lastOfLevel);
}
