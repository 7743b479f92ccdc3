// Walking trees by their nodes, for garbage collection and sync: node-level diffs, the data
// blobs a leaf refers to, and reads that tolerate absent blobs.
import { BlobNotFoundError, compareBytes, decodeNode, equalBytes, type BlobStore, type Hash, type Tree, type TreeNode } from '@cafs/kv';
import { decodeExtent } from '@cafs/fs';

export const isNotFound = (err: unknown): boolean =>
  err instanceof BlobNotFoundError || (err as { code?: string }).code === 'ERR_BLOB_NOT_FOUND' || (err as { code?: string }).code === 'ERR_ROOT_NOT_FOUND';

export async function tryGet(store: BlobStore, hash: Hash): Promise<Uint8Array | undefined> {
  try {
    return await store.get(hash);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Calls `out` with the data blob of every extent of a leaf that lives in a blob. */
export function leafRefs(node: TreeNode, out: (h: Hash) => void): void {
  for (let i = 0; i < node.count; i++) {
    const v = node.value(i);
    // An extent in a blob is the CBOR array [hash, offset, length]; inline ones are byte strings.
    if (v.length < 36 || v[0] !== 0x83) continue;
    const k = node.key(i);
    if (k.length < 10 || k[k.length - 9] !== 0) continue;
    let ref: Hash | undefined;
    try {
      ref = decodeExtent(v).ref;
    } catch {
      continue;
    }
    if (ref !== undefined) out(ref);
  }
}

/** Whether node `x` is a node of the tree with root `root` (nodes are unique within a tree). */
export async function treeHasNode(tree: Tree, root: Hash, x: TreeNode): Promise<boolean> {
  if (x.count === 0) return equalBytes(root, x.hash);
  let node = tree.nodes.cachedRoot(root);
  if (node === undefined) {
    try {
      node = await tree.nodes.root(root);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
  if (node.level < x.level) return false;
  const k = x.key(x.count - 1);
  while (node.level > x.level) {
    const i = node.childIndexFor(k);
    node = tree.nodes.cachedChild(node, i) ?? (await tree.nodes.child(node, i));
  }
  return equalBytes(node.hash, x.hash);
}

/** The node with this hash, or undefined when the blob is absent or not a tree node. */
export async function loadNode(tree: Tree, hash: Hash): Promise<TreeNode | undefined> {
  const hit = tree.nodes.cachedHash(hash);
  if (hit !== undefined) return hit;
  const bytes = await tryGet(tree.store, hash);
  if (bytes === undefined) return undefined;
  try {
    const node = decodeNode(hash, bytes);
    tree.nodes.remember(node);
    return node;
  } catch {
    return undefined;
  }
}

/** A subtree in a node-level diff: the root, or child `index` of `parent`. */
interface SubtreeRef {
  level: number;
  parent: TreeNode | undefined;
  index: number;
  hash: Hash;
}

async function open(tree: Tree, s: SubtreeRef): Promise<TreeNode> {
  if (s.parent === undefined) return tree.nodes.root(s.hash);
  return tree.nodes.cachedChild(s.parent, s.index) ?? tree.nodes.child(s.parent, s.index);
}

function pushChildren(stack: SubtreeRef[], node: TreeNode): void {
  for (let i = node.count - 1; i >= 0; i--) {
    stack.push({ level: node.level - 1, parent: node, index: i, hash: node.value(i) });
  }
}

/** The largest key of a subtree (undefined for a root: no bound). */
const upper = (s: SubtreeRef): Uint8Array | undefined => s.parent?.key(s.index);

/**
 * A node-level diff of two trees: calls `out` with every node of `a` (side 'left') and of `b`
 * ('right') that is not inside a subtree the two share. This is a superset of the nodes only
 * one tree has, and a node reported on both sides is in both trees. Like Tree.changedNodes, but
 * it never reads entries: leaves that differ are reported unread (aligned by their key bounds),
 * which makes it several times cheaper for garbage collection.
 */
export async function nodeDiff(tree: Tree, a: Hash, b: Hash, out: (side: 'left' | 'right', hash: Hash) => void, signal?: AbortSignal): Promise<void> {
  if (equalBytes(a, b)) return;
  const rootRef = async (h: Hash): Promise<SubtreeRef> => {
    const n = await tree.nodes.root(h);
    return { level: n.level, parent: undefined, index: 0, hash: h };
  };
  const A: SubtreeRef[] = [await rootRef(a)];
  const B: SubtreeRef[] = [await rootRef(b)];
  let steps = 0;
  while (A.length > 0 || B.length > 0) {
    if ((++steps & 1023) === 0) signal?.throwIfAborted();
    const x = A[A.length - 1];
    const y = B[B.length - 1];
    if (x !== undefined && y !== undefined && equalBytes(x.hash, y.hash)) {
      A.pop();
      B.pop();
      continue;
    }
    if (x !== undefined && (y === undefined || x.level > y.level)) {
      A.pop();
      out('left', x.hash);
      if (x.level > 0) pushChildren(A, await open(tree, x));
      continue;
    }
    if (y !== undefined && (x === undefined || y.level > x.level)) {
      B.pop();
      out('right', y.hash);
      if (y.level > 0) pushChildren(B, await open(tree, y));
      continue;
    }
    // Same level, different nodes.
    if (x!.level > 0) {
      A.pop();
      B.pop();
      out('left', x!.hash);
      out('right', y!.hash);
      const [nx, ny] = [await open(tree, x!), await open(tree, y!)];
      pushChildren(A, nx);
      pushChildren(B, ny);
      continue;
    }
    // Two different leaves: drop the one that ends first (both if they end together).
    const ux = upper(x!);
    const uy = upper(y!);
    const c = ux === undefined ? (uy === undefined ? 0 : 1) : uy === undefined ? -1 : compareBytes(ux, uy);
    if (c <= 0) {
      A.pop();
      out('left', x!.hash);
    }
    if (c >= 0) {
      B.pop();
      out('right', y!.hash);
    }
  }
}

