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
    node.cacheRef = false;
    this.map.set(id, node);
    this.size += size;
    if (this.size > this.maxSize) this.evict();
  }

  get count(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.size;
  }

  private evict(): void {
    // The hand persists between evictions and referenced entries stay where they are (their bit
    // cleared): moving them to the back would leave a tombstone per move at the front of the
    // Map, and every later walk from the oldest entry would cross them all (quadratic).
    let laps = 0;
    while (this.size > this.maxSize) {
      this.hand ??= this.map.entries();
      const next = this.hand.next();
      if (next.done) {
        this.hand = undefined;
        // Two full laps clear every bit, so a third always finds victims.
        if (++laps > 2 || this.map.size === 0) return;
        continue;
      }
      const [id, node] = next.value;
      if (node.cacheRef) node.cacheRef = false;
      else {
        this.map.delete(id);
        this.size -= this.sizeOf(node);
      }
    }
  }
}
