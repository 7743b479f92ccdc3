// Diff of two trees as a merge of two streams whose items are either whole subtrees or entries.
// Two subtrees with the same hash at the front of both streams hold the same entries, so both
// are skipped unread; otherwise the subtree on the higher level is opened first. Because node
// boundaries depend only on content, the two streams realign soon after every change, and the
// work grows with the size of the change rather than with the trees.
import { compareBytes, equalBytes } from '../bytes.js';
import { HASH_BYTES, type Hash } from '../hash.js';
import type { HalfOpenRange } from './entry.js';
import type { TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

export interface DiffEntry {
  key: Uint8Array;
  /** The value in the first tree (absent: the key was added). */
  left?: Uint8Array;
  /** The value in the second tree (absent: the key was removed). */
  right?: Uint8Array;
}

/** A node present in one tree and not in the other. */
export interface ChangedNode {
  side: 'left' | 'right';
  hash: Hash;
  level: number;
}

interface SubtreeItem {
  entry: false;
  /** The subtree's hash is hashBytes[hashAt, hashAt + 32) (in its parent's bytes: no view made). */
  hashBytes: Uint8Array;
  hashAt: number;
  level: number;
  /** Keys lie in (lower, upper]; undefined bounds are open. */
  lower: Uint8Array | undefined;
  upper: Uint8Array | undefined;
  parent: TreeNode | undefined;
  index: number;
  rootHash: Hash;
}

interface EntryItem {
  entry: true;
  key: Uint8Array;
  value: Uint8Array;
}

type Item = SubtreeItem | EntryItem;

export interface DiffWalkOptions {
  range?: HalfOpenRange | undefined;
  entries: boolean;
  nodes: boolean;
  signal?: AbortSignal | undefined;
}

export type DiffEvent = ({ kind: 'entry' } & DiffEntry) | ({ kind: 'node' } & ChangedNode);

function outside(item: SubtreeItem, range: HalfOpenRange | undefined): boolean {
  if (range === undefined) return false;
  if (range.lo !== undefined && item.upper !== undefined && compareBytes(item.upper, range.lo) < 0) return true;
  if (range.hi !== undefined && item.lower !== undefined && compareBytes(item.lower, range.hi) >= 0) return true;
  return false;
}

function inRange(key: Uint8Array, range: HalfOpenRange | undefined): boolean {
  if (range === undefined) return true;
  return (
    (range.lo === undefined || compareBytes(key, range.lo) >= 0) &&
    (range.hi === undefined || compareBytes(key, range.hi) < 0)
  );
}

async function rootItem(nodes: NodeStore, hash: Hash): Promise<SubtreeItem> {
  const node = await nodes.root(hash);
  return { entry: false, hashBytes: node.hash, hashAt: 0, level: node.level, lower: undefined, upper: undefined, parent: undefined, index: 0, rootHash: hash };
}

async function open(nodes: NodeStore, item: SubtreeItem): Promise<TreeNode> {
  if (item.parent === undefined) return nodes.root(item.rootHash);
  return nodes.cachedChild(item.parent, item.index) ?? nodes.child(item.parent, item.index);
}

/** Replaces the subtree on top of `stack` by its children (or entries), last first. */
function push(stack: Item[], node: TreeNode, item: SubtreeItem, range: HalfOpenRange | undefined): void {
  if (node.level === 0) {
    for (let i = node.count - 1; i >= 0; i--) {
      const key = node.key(i);
      if (inRange(key, range)) stack.push({ entry: true, key, value: node.value(i) });
    }
    return;
  }
  for (let i = node.count - 1; i >= 0; i--) {
    const child: SubtreeItem = {
      entry: false,
      hashBytes: node.bytes,
      hashAt: node.offsets[4 * i + 2]!,
      level: node.level - 1,
      lower: i > 0 ? node.key(i - 1) : item.lower,
      upper: node.key(i),
      parent: node,
      index: i,
      rootHash: item.rootHash,
    };
    if (!outside(child, range)) stack.push(child);
  }
}

function sameHash(x: SubtreeItem, y: SubtreeItem): boolean {
  const a = x.hashBytes;
  const b = y.hashBytes;
  const i = x.hashAt;
  const j = y.hashAt;
  for (let k = HASH_BYTES - 1; k >= 0; k--) if (a[i + k] !== b[j + k]) return false;
  return true;
}

export async function* diffWalk(nodes: NodeStore, left: Hash, right: Hash, options: DiffWalkOptions): AsyncGenerator<DiffEvent> {
  const { range } = options;
  const a: Item[] = [await rootItem(nodes, left)];
  const b: Item[] = [await rootItem(nodes, right)];
  let steps = 0;
  while (a.length > 0 || b.length > 0) {
    if ((++steps & 1023) === 0) options.signal?.throwIfAborted();
    const x = a[a.length - 1];
    const y = b[b.length - 1];
    if (x !== undefined && y !== undefined && !x.entry && !y.entry && sameHash(x, y)) {
      a.pop();
      b.pop();
      continue;
    }
    if (x !== undefined && !x.entry && (y === undefined || y.entry || x.level >= y.level)) {
      a.pop();
      const node = await open(nodes, x);
      if (options.nodes) yield { kind: 'node', side: 'left', hash: node.hash, level: node.level };
      push(a, node, x, range);
      continue;
    }
    if (y !== undefined && !y.entry) {
      b.pop();
      const node = await open(nodes, y);
      if (options.nodes) yield { kind: 'node', side: 'right', hash: node.hash, level: node.level };
      push(b, node, y, range);
      continue;
    }
    // Both fronts are entries (or one stream has ended).
    const cmp = x === undefined ? 1 : y === undefined ? -1 : compareBytes((x as EntryItem).key, (y as EntryItem).key);
    if (cmp < 0) {
      const e = a.pop() as EntryItem;
      if (options.entries) yield { kind: 'entry', key: e.key, left: e.value };
    } else if (cmp > 0) {
      const e = b.pop() as EntryItem;
      if (options.entries) yield { kind: 'entry', key: e.key, right: e.value };
    } else {
      const l = a.pop() as EntryItem;
      const r = b.pop() as EntryItem;
      if (options.entries && !equalBytes(l.value, r.value)) yield { kind: 'entry', key: l.key, left: l.value, right: r.value };
    }
  }
}
