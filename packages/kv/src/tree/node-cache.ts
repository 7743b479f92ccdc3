import type { TreeNode } from './node.js';

/**
 * A byte-bounded cache of decoded nodes with CLOCK (second chance) eviction. A hit only sets
 * the node's reference bit, where an LRU list would relink entries: the tree reads a handful
 * of cached nodes per operation, so the cost of a hit matters more than the exact order of
 * eviction. The Map's insertion order is the clock face and a live iterator over it the hand:
 * eviction goes on from where it stopped, clearing the bits of referenced entries and dropping
 * the others.
 */
export class NodeCache {
  private readonly map = new Map<string, TreeNode>();
  private readonly maxSize: number;
  private readonly sizeOf: (node: TreeNode) => number;
  private size = 0;
  /** The clock hand: where the last eviction stopped. */
  private hand: IterableIterator<[string, TreeNode]> | undefined;
  /** Laps the hand has completed. */
  private lap = 0;

  constructor(maxSize: number, sizeOf: (node: TreeNode) => number) {
    this.maxSize = maxSize;
    this.sizeOf = sizeOf;
  }

  get(id: string): TreeNode | undefined {
    const node = this.map.get(id);
    if (node !== undefined) node.cacheRef = true;
    return node;
  }

  set(id: string, node: TreeNode): void {
    const old = this.map.get(id);
    if (old !== undefined) {
      if (old === node) {
        node.cacheRef = true;
        return;
      }
      this.map.delete(id);
      this.size -= this.sizeOf(old);
    }
    const size = this.sizeOf(node);
    // Like lru-cache: an item larger than the whole cache is not kept.
    if (size > this.maxSize) return;
    // Appended at the end of the clock face, which may be just ahead of the hand: a new entry is
    // spared for the rest of the lap it arrived in (else a hand near the end evicts each new
    // node at once, and a walk over cold nodes fetches every node it passes again and again).
    node.cacheRef = false;
    node.cacheLap = this.lap;
    this.map.set(id, node);
    this.size += size;
    if (this.size > this.maxSize) this.evict(node);
  }

  get count(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.size;
  }

  /** Evicts down to the bound; never `keep` (the node being inserted). */
  private evict(keep: TreeNode): void {
    // The hand persists between evictions and referenced entries stay where they are (their bit
    // cleared): moving them to the back would leave a tombstone per move at the front of the
    // Map, and every later walk from the oldest entry would cross them all (quadratic).
    let laps = 0;
    // Entries whose bit this call cleared are not victims of the same call before a second wrap:
    // a hot node read between two insertions must outlive a cache-wide sweep.
    let cleared: Set<TreeNode> | undefined;
    while (this.size > this.maxSize) {
      this.hand ??= this.map.entries();
      const next = this.hand.next();
      if (next.done) {
        this.hand = undefined;
        this.lap++;
        // Three wraps: the bits are clear and the new entries' lap is over, so victims exist.
        if (++laps > 3 || this.map.size === 0) return;
        continue;
      }
      const [id, node] = next.value;
      if (node.cacheRef) {
        node.cacheRef = false;
        (cleared ??= new Set()).add(node);
      } else if (node !== keep && node.cacheLap !== this.lap && (laps >= 2 || cleared === undefined || !cleared.has(node))) {
        this.map.delete(id);
        this.size -= this.sizeOf(node);
      }
    }
  }
}
