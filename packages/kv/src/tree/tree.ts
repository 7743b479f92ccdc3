import { compareBytes } from '../bytes.js';
import { assertHash, type Hash } from '../hash.js';
import type { BlobStore } from '../store/blob-store.js';
import { Builder } from './builder.js';
import { Cursor } from './cursor.js';
import { diffWalk, type ChangedNode, type DiffEntry } from './diff.js';
import { checkKey, checkValue, toHalfOpen, type Edit, type Entry, type KeyRange } from './entry.js';
import { mutateTree, type LevelEdit } from './mutate.js';
import { EMPTY_NODE } from './node.js';
import { NodeStore, type NodeStoreOptions, type NodeStoreStats } from './node-store.js';

export interface TreeOptions extends NodeStoreOptions {}

export interface IterateOptions extends KeyRange {
  reverse?: boolean | undefined;
  /** At most this many entries (default: all). */
  limit?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface MutateOptions {
  signal?: AbortSignal | undefined;
}

export interface DiffOptions extends KeyRange {
  signal?: AbortSignal | undefined;
}

/** What `Tree.getCached` answers when the value cannot be known without loading a node. */
export const NOT_CACHED: unique symbol = Symbol('cafs.kv.notCached');

/** The root of the tree with no entries: the hash of the CBOR node [0, [], []]. */
export const EMPTY_ROOT: Hash = EMPTY_NODE.hash;

/**
 * An immutable, history-independent B+-tree stored as blobs. Every method takes a root and
 * mutations return a new one; nothing is changed in place, so any root stays readable forever.
 */
export class Tree {
  static readonly EMPTY_ROOT: Hash = EMPTY_ROOT;
  readonly nodes: NodeStore;

  constructor(store: BlobStore, options: TreeOptions = {}) {
    this.nodes = new NodeStore(store, options);
  }

  get store(): BlobStore {
    return this.nodes.blobs;
  }

  /** Counters of node reads, fetches and writes since this Tree was made. */
  get stats(): Readonly<NodeStoreStats> {
    return this.nodes.stats;
  }

  /**
   * `get` without waiting, from cached nodes only: the value, undefined when the key is absent,
   * or NOT_CACHED when a node on the way would have to be loaded (then call `get`).
   */
  getCached(root: Hash, key: Uint8Array): Uint8Array | undefined | typeof NOT_CACHED {
    assertHash(root, 'root');
    checkKey(key);
    let node = this.nodes.cachedRoot(root);
    if (node === undefined) return NOT_CACHED;
    while (node.level > 0) {
      node = this.nodes.cachedChild(node, node.childIndexFor(key));
      if (node === undefined) return NOT_CACHED;
    }
    const i = node.lowerBound(key);
    return i < node.count && node.compareKeyAt(i, key) === 0 ? node.value(i) : undefined;
  }

  async get(root: Hash, key: Uint8Array): Promise<Uint8Array | undefined> {
    assertHash(root, 'root');
    checkKey(key);
    let node = this.nodes.cachedRoot(root) ?? (await this.nodes.root(root));
    while (node.level > 0) {
      const i = node.childIndexFor(key);
      node = this.nodes.cachedChild(node, i) ?? (await this.nodes.child(node, i));
    }
    const i = node.lowerBound(key);
    return i < node.count && node.compareKeyAt(i, key) === 0 ? node.value(i) : undefined;
  }

  async has(root: Hash, key: Uint8Array): Promise<boolean> {
    return (await this.get(root, key)) !== undefined;
  }

  async first(root: Hash): Promise<Entry | undefined> {
    return this.cursor(root).next();
  }

  async last(root: Hash): Promise<Entry | undefined> {
    return this.cursor(root).prev();
  }

  /** A cursor over the tree; call `seek` to position it, or `next`/`prev` from either end. */
  cursor(root: Hash): Cursor {
    assertHash(root, 'root');
    return new Cursor(this.nodes, root);
  }

  /** Entries in key order (or reverse), within the range, up to `limit`. */
  async *entries(root: Hash, options: IterateOptions = {}): AsyncGenerator<Entry> {
    const { lo, hi } = toHalfOpen(options);
    let left = options.limit ?? Infinity;
    if (left <= 0) return;
    const cursor = this.cursor(root);
    if (options.reverse) {
      if (hi === undefined) await cursor.seekEnd();
      else await cursor.seek(hi);
      for (let e = await cursor.prev(); e !== undefined; e = await cursor.prev()) {
        if (lo !== undefined && compareBytes(e.key, lo) < 0) return;
        options.signal?.throwIfAborted();
        yield e;
        if (--left <= 0) return;
      }
    } else {
      await cursor.seek(lo);
      for (let e = await cursor.next(); e !== undefined; e = await cursor.next()) {
        if (hi !== undefined && compareBytes(e.key, hi) >= 0) return;
        options.signal?.throwIfAborted();
        yield e;
        if (--left <= 0) return;
      }
    }
  }

  async put(root: Hash, key: Uint8Array, value: Uint8Array): Promise<Hash> {
    assertHash(root, 'root');
    checkKey(key);
    checkValue(value);
    return mutateTree(this.nodes, root, [{ key, value }]);
  }

  async delete(root: Hash, key: Uint8Array): Promise<Hash> {
    assertHash(root, 'root');
    checkKey(key);
    return mutateTree(this.nodes, root, [{ key, value: undefined }]);
  }

  /** Deletes every key in the range in one pass; nodes wholly inside it are dropped unread. */
  async deleteRange(root: Hash, range: KeyRange, options: MutateOptions = {}): Promise<Hash> {
    assertHash(root, 'root');
    const half = toHalfOpen(range);
    if (half.lo !== undefined && half.hi !== undefined && compareBytes(half.lo, half.hi) >= 0) return root;
    return mutateTree(this.nodes, root, [], half, options.signal);
  }

  /**
   * Applies many edits in one pass, rewriting only the nodes they touch. Edits apply in order:
   * for a key given more than once, the last edit wins.
   */
  async mutate(root: Hash, edits: Iterable<Edit>, options: MutateOptions = {}): Promise<Hash> {
    assertHash(root, 'root');
    return mutateTree(this.nodes, root, normalizeEdits(edits), undefined, options.signal);
  }

  /** A bulk loader for entries in strictly increasing key order. */
  builder(): Builder {
    return new Builder(this.nodes);
  }

  /** Builds a tree from sorted entries. */
  async build(entries: Iterable<Entry> | AsyncIterable<Entry>): Promise<Hash> {
    const b = this.builder();
    for await (const e of entries) b.add(e.key, e.value);
    return b.finish();
  }

  /** The entries that differ between two trees, in key order; shared subtrees are skipped unread. */
  async *diff(left: Hash, right: Hash, options: DiffOptions = {}): AsyncGenerator<DiffEntry> {
    assertHash(left, 'left root');
    assertHash(right, 'right root');
    if (compareBytes(left, right) === 0) return;
    for await (const ev of diffWalk(this.nodes, left, right, { range: toHalfOpen(options), entries: true, nodes: false, signal: options.signal })) {
      if (ev.kind === 'entry') {
        const d: DiffEntry = { key: ev.key };
        if (ev.left !== undefined) d.left = ev.left;
        if (ev.right !== undefined) d.right = ev.right;
        yield d;
      }
    }
  }

  /**
   * The nodes of each tree that the other lacks (for sync and garbage collection):
   * side 'right' nodes are new in `right`, side 'left' ones exist only in `left`.
   */
  async *changedNodes(left: Hash, right: Hash, options: { signal?: AbortSignal } = {}): AsyncGenerator<ChangedNode> {
    assertHash(left, 'left root');
    assertHash(right, 'right root');
    if (compareBytes(left, right) === 0) return;
    for await (const ev of diffWalk(this.nodes, left, right, { entries: false, nodes: true, signal: options.signal })) {
      if (ev.kind === 'node') yield { side: ev.side, hash: ev.hash, level: ev.level };
    }
  }

  /** Every node hash reachable from `root` (for garbage collection and fsck). */
  async *reachableNodes(root: Hash, options: { signal?: AbortSignal } = {}): AsyncGenerator<Hash> {
    assertHash(root, 'root');
    const stack = [await this.nodes.root(root)];
    while (stack.length > 0) {
      options.signal?.throwIfAborted();
      const node = stack.pop()!;
      yield node.hash;
      if (node.level > 0) {
        for (let i = node.count - 1; i >= 0; i--) stack.push(await this.nodes.child(node, i));
      }
    }
  }
}

/** Entries an index takes in the packed sort keys of sortRange (2^21). */
const INDEX_SPAN = 2097152;

/**
 * Stable sort by key. Large batches sort numbers, not keys (a radix sort on four bytes at a
 * time): each edit becomes one float64, the four key bytes after the prefix that all keys of
 * the range share (zero-padded) times 2^21 plus the edit's index, which a typed array sorts
 * natively; runs that tie on those bytes are sorted again from the next four. Small runs
 * compare keys directly.
 */
function sortByKey(list: LevelEdit[]): LevelEdit[] {
  const n = list.length;
  if (n >= INDEX_SPAN) {
    // Too many for the index bits: compare keys as latin1 strings (code unit order is unsigned
    // byte order), which beats a JavaScript byte loop several times over.
    const decorated = list.map((e) => ({ s: latin1(e.key), e }));
    decorated.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
    return decorated.map((d) => d.e);
  }
  sortRange(list, 0, n, 0);
  return list;
}

/** Stable sort of list[from, to) by key, knowing that the keys share their first `depth` bytes. */
function sortRange(list: LevelEdit[], from: number, to: number, depth: number): void {
  const n = to - from;
  let maxLen = 0;
  for (let i = from; i < to; i++) maxLen = Math.max(maxLen, list[i]!.key.length);
  if (n < 64 || depth >= maxLen) {
    const run = list.slice(from, to).sort((x, y) => compareBytes(x.key, y.key));
    for (let i = 0; i < n; i++) list[from + i] = run[i]!;
    return;
  }
  // The prefix every key of the range shares (a batch under one directory shares a long one).
  const first = list[from]!.key;
  let lcp = Math.max(first.length, depth);
  for (let i = from + 1; i < to && lcp > depth; i++) {
    const k = list[i]!.key;
    const m = Math.min(lcp, k.length);
    let j = depth;
    while (j < m && k[j] === first[j]) j++;
    lcp = j;
  }
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = list[from + i]!.key;
    const len = k.length;
    const b0 = lcp < len ? k[lcp]! : 0;
    const b1 = lcp + 1 < len ? k[lcp + 1]! : 0;
    const b2 = lcp + 2 < len ? k[lcp + 2]! : 0;
    const b3 = lcp + 3 < len ? k[lcp + 3]! : 0;
    packed[i] = (b0 * 16777216 + ((b1 << 16) | (b2 << 8) | b3)) * INDEX_SPAN + i;
  }
  packed.sort();
  const run = list.slice(from, to);
  for (let i = 0; i < n; i++) list[from + i] = run[packed[i]! % INDEX_SPAN]!;
  // Ties on those four bytes are in index order now; sort each from the next four bytes on.
  for (let i = 0; i < n; ) {
    const p = Math.floor(packed[i]! / INDEX_SPAN);
    let j = i + 1;
    while (j < n && Math.floor(packed[j]! / INDEX_SPAN) === p) j++;
    if (j - i > 1) sortRange(list, from + i, from + j, lcp + 4);
    i = j;
  }
}

function latin1(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i += 4096) {
    s += String.fromCharCode.apply(null, key.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

/** Validates edits and sorts them by key, keeping the last edit of each key. */
export function normalizeEdits(edits: Iterable<Edit>): LevelEdit[] {
  let list: LevelEdit[] = [];
  for (const edit of edits) {
    checkKey(edit.key);
    if (edit.type === 'put') {
      checkValue(edit.value);
      list.push({ key: edit.key, value: edit.value });
    } else if (edit.type === 'del') {
      list.push({ key: edit.key, value: undefined });
    } else {
      throw new TypeError(`unknown edit type ${String((edit as { type: unknown }).type)}`);
    }
  }
  // Stable sort keeps equal keys in input order; the last of each run wins. Batches often
  // arrive sorted already (a walk of a directory, a diff): then the sort is skipped.
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = compareBytes(list[i - 1]!.key, list[i]!.key) <= 0;
  if (!sorted) list = sortByKey(list);
  const out: LevelEdit[] = [];
  for (const e of list) {
    const prev = out[out.length - 1];
    if (prev !== undefined && compareBytes(prev.key, e.key) === 0) out[out.length - 1] = e;
    else out.push(e);
  }
  return out;
}
