// The fast path of a small batch whose keys all fall in one leaf (one put or delete, or the few
// keys a filesystem change writes for one file).
//
// Most such batches change one leaf without moving any boundary: the leaf re-cut gives back one
// node that ends at the same key, and every level above only swaps the hash of one child (a
// value of the same length under the same key). When every node on the path is cached, that
// is done here synchronously, without the level-by-level machinery of mutate.ts. Anything else
// (keys in two leaves, a split, a merge, a new largest key, an uncached node) is left to
// mutateTree, which gives the same tree: this path only takes edits whose outcome it can see is
// the same.
import { equalBytes } from '../bytes.js';
import type { Hash } from '../hash.js';
import { Chunker } from './chunker.js';
import type { LevelEdit } from './mutate.js';
import { patchValue, type TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

export interface LeafEditResult {
  root: TreeNode;
  /** The nodes made, leaf first; empty when the edit changed nothing. */
  created: TreeNode[];
}

/** Edits one leaf may take on this path (more go the general way). */
export const MAX_LEAF_EDITS = 64;

/**
 * Applies sorted, unique edits (a value: put; undefined: delete) if the fast path can;
 * undefined when the caller must take the general path.
 */
export function applyLeafEdits(nodes: NodeStore, rootHash: Hash, edits: readonly LevelEdit[]): LeafEditResult | undefined {
  if (edits.length === 0 || edits.length > MAX_LEAF_EDITS) return undefined;
  const root = nodes.cachedRoot(rootHash);
  if (root === undefined || root.count === 0) return undefined;
  const first = edits[0]!.key;
  const lastKey = edits[edits.length - 1]!.key;
  const path: TreeNode[] = [];
  const indices: number[] = [];
  let last = true;
  let node = root;
  while (node.level > 0) {
    const i = node.childIndexFor(first);
    // Every key must go to the same child, level by level.
    if (edits.length > 1 && node.childIndexFor(lastKey) !== i) return undefined;
    path.push(node);
    indices.push(i);
    if (i !== node.count - 1) last = false;
    const child = nodes.cachedChild(node, i);
    if (child === undefined) return undefined;
    node = child;
  }
  const leaf = edits.length === 1 ? rewriteLeaf(node, edits[0]!, last) : rewriteLeafMany(node, edits, last);
  if (leaf === undefined) return undefined;
  if (leaf === node) return { root, created: [] };
  const created = [leaf];
  let child = leaf;
  for (let d = path.length - 1; d >= 0; d--) {
    child = patchValue(path[d]!, indices[d]!, child.hash);
    created.push(child);
  }
  return { root: child, created };
}

/** rewriteLeaf for several edits (sorted, unique keys). */
function rewriteLeafMany(leaf: TreeNode, edits: readonly LevelEdit[], lastOfLevel: boolean): TreeNode | undefined {
  const out: TreeNode[] = [];
  const chunker = new Chunker(0, (n) => out.push(n));
  let from = 0;
  for (const edit of edits) {
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
    if (value !== undefined && old.length === value.length) return equalBytes(old, value) ? leaf : patchValue(leaf, i, value);
  } else if (value === undefined && i < leaf.count) {
    return leaf; // deleting a key the leaf does not hold
  }
  return rewriteLeafMany(leaf, [edit], lastOfLevel);
}
