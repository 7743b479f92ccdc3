import { BlobNotFoundError, CorruptNodeError, KvError } from '../errors.js';
import type { Hash } from '../hash.js';
import type { BlobStore } from '../store/blob-store.js';
import { EMPTY_NODE, TreeNode, decodeNode } from './node.js';
import { NodeCache } from './node-cache.js';

export interface NodeStoreOptions {
  /** Bytes of decoded nodes kept in memory (default 256 MiB). */
  cacheBytes?: number | undefined;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** Per-node bookkeeping on top of its bytes: the offsets array and object headers. */
const NODE_OVERHEAD = 160;

export interface NodeStoreStats {
  /** Nodes asked for (cache hits and misses). */
  reads: number;
  /** Nodes fetched from the blob store and decoded. */
  fetches: number;
  /** Nodes written. */
  writes: number;
}

/** Loads tree nodes from a blob store through a byte-bounded LRU cache of decoded nodes. */
export class NodeStore {
  readonly blobs: BlobStore;
  readonly stats: NodeStoreStats = { reads: 0, fetches: 0, writes: 0 };
  private readonly cache: NodeCache;

  constructor(blobs: BlobStore, options: NodeStoreOptions = {}) {
    this.blobs = blobs;
    // Over a resident store a decoded node shares its bytes with the store, so the cache's own
    // cost is the offsets table and the object.
    const countBytes = blobs.resident !== true;
    this.cache = new NodeCache(
      Math.max(options.cacheBytes ?? DEFAULT_CACHE_BYTES, 1),
      (node) => (countBytes ? node.bytes.length : 0) + 16 * node.count + NODE_OVERHEAD,
    );
  }

  /** The node with this hash if it is cached, without waiting. */
  cachedHash(hash: Hash): TreeNode | undefined {
    return this.lookup(hash, 0);
  }

  /** The cached node whose hash is bytes[at, at + 32). The empty node is always known. */
  private lookup(bytes: Uint8Array, at: number): TreeNode | undefined {
    const hit = this.cache.get(bytes, at);
    if (hit !== undefined) return hit;
    const empty = EMPTY_NODE.hash;
    for (let i = 0; i < empty.length; i++) if (bytes[at + i] !== empty[i]) return undefined;
    return EMPTY_NODE;
  }

  async load(hash: Hash): Promise<TreeNode> {
    this.stats.reads++;
    return this.lookup(hash, 0) ?? this.fetch(hash);
  }

  private async fetch(hash: Hash): Promise<TreeNode> {
    this.stats.fetches++;
    const bytes = await this.blobs.get(hash);
    const node = decodeNode(hash, bytes);
    this.cache.set(node);
    return node;
  }

  /** Child `i` of `parent` if it is cached (checked like `child`), without waiting. */
  cachedChild(parent: TreeNode, i: number): TreeNode | undefined {
    const node = this.lookup(parent.bytes, parent.offsets[4 * i + 2]!);
    if (node === undefined) return undefined;
    this.stats.reads++;
    checkPlacement(parent, i, node);
    return node;
  }

  /** Loads child `i` of `parent` and checks it fits there (level and max key). */
  async child(parent: TreeNode, i: number): Promise<TreeNode> {
    this.stats.reads++;
    const node = this.lookup(parent.bytes, parent.offsets[4 * i + 2]!) ?? (await this.fetch(parent.value(i)));
    checkPlacement(parent, i, node);
    return node;
  }

  /** The root node if cached, without waiting. */
  cachedRoot(hash: Hash): TreeNode | undefined {
    const node = this.lookup(hash, 0);
    if (node !== undefined) this.stats.reads++;
    return node;
  }

  /** Root nodes: the empty tree is known without a store. */
  async root(hash: Hash): Promise<TreeNode> {
    this.stats.reads++;
    const hit = this.lookup(hash, 0);
    if (hit !== undefined) return hit;
    try {
      return await this.fetch(hash);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new RootNotFoundError(err.hash);
      throw err;
    }
  }

  /** Keeps nodes just built in the cache, so the writer's next reads find them. */
  remember(node: TreeNode): void {
    if (node !== EMPTY_NODE) this.cache.set(node);
  }

  async write(nodes: readonly TreeNode[]): Promise<void> {
    if (nodes.length === 0) return;
    this.stats.writes += nodes.length;
    await this.blobs.putHashed(nodes.map((n) => ({ hash: n.hash, bytes: n.bytes })));
  }
}

function checkPlacement(parent: TreeNode, i: number, node: TreeNode): void {
  if (node.level !== parent.level - 1) {
    throw new CorruptNodeError(node.id, `found at level ${node.level} under a node of level ${parent.level}`);
  }
  if (node.count === 0 || node.compareKeyAt(node.count - 1, parent.key(i)) !== 0) {
    throw new CorruptNodeError(node.id, 'its last key differs from the key its parent holds for it');
  }
}

/** A root hash that names no node in the store. */
export class RootNotFoundError extends KvError {
  readonly hash: string;
  constructor(hashHex: string) {
    super('ERR_ROOT_NOT_FOUND', `root ${hashHex} is not in the store`);
    this.hash = hashHex;
  }
}
