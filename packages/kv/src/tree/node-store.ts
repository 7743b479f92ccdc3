import { bytesToHex } from '../bytes.js';
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
  /** Hex ids of root hashes seen, by array identity (roots are passed again and again). */
  private readonly rootIds = new WeakMap<Hash, string>();

  constructor(blobs: BlobStore, options: NodeStoreOptions = {}) {
    this.blobs = blobs;
    // Over a resident store a decoded node shares its bytes with the store, so the cache's own
    // cost is the offsets table and the object.
    const countBytes = blobs.resident !== true;
    this.cache = new NodeCache(
      Math.max(options.cacheBytes ?? DEFAULT_CACHE_BYTES, 1),
      (node) => (countBytes ? node.bytes.length : 0) + 16 * node.count + NODE_OVERHEAD,
    );
    this.cache.set(EMPTY_NODE.id, EMPTY_NODE);
  }

  /** The node if it is cached, without waiting. */
  cached(id: string): TreeNode | undefined {
    if (id === EMPTY_NODE.id) return EMPTY_NODE;
    return this.cache.get(id);
  }

  async load(hash: Hash, id: string = bytesToHex(hash)): Promise<TreeNode> {
    this.stats.reads++;
    return this.cached(id) ?? this.fetch(hash, id);
  }

  private async fetch(hash: Hash, id: string): Promise<TreeNode> {
    this.stats.fetches++;
    const bytes = await this.blobs.get(hash);
    const node = decodeNode(hash, id, bytes);
    this.cache.set(id, node);
    return node;
  }

  /** Child `i` of `parent` if it is cached (checked like `child`), without waiting. */
  cachedChild(parent: TreeNode, i: number): TreeNode | undefined {
    const node = this.cache.get(parent.childId(i));
    if (node === undefined) return undefined;
    this.stats.reads++;
    checkPlacement(parent, i, node);
    return node;
  }

  /** Loads child `i` of `parent` and checks it fits there (level and max key). */
  async child(parent: TreeNode, i: number): Promise<TreeNode> {
    const id = parent.childId(i);
    this.stats.reads++;
    const node = this.cached(id) ?? (await this.fetch(parent.value(i), id));
    checkPlacement(parent, i, node);
    return node;
  }

  /** The root node if cached, without waiting (callers keep passing the same root arrays). */
  cachedRoot(hash: Hash): TreeNode | undefined {
    const node = this.cached(this.idOf(hash));
    if (node !== undefined) this.stats.reads++;
    return node;
  }

  /** Root nodes: the empty tree is known without a store. */
  async root(hash: Hash): Promise<TreeNode> {
    const id = this.idOf(hash);
    this.stats.reads++;
    const hit = this.cached(id);
    if (hit !== undefined) return hit;
    try {
      return await this.fetch(hash, id);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new RootNotFoundError(err.hash);
      throw err;
    }
  }

  private idOf(hash: Hash): string {
    let id = this.rootIds.get(hash);
    if (id === undefined) {
      id = bytesToHex(hash);
      this.rootIds.set(hash, id);
    }
    return id;
  }

  /** Keeps nodes just built in the cache, so the writer's next reads find them. */
  remember(node: TreeNode): void {
    this.cache.set(node.id, node);
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
