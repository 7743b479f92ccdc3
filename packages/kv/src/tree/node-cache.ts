import type { TreeNode } from './node.js';

/**
 * A byte-bounded cache of decoded nodes with CLOCK (second chance) eviction. A hit only sets
 * the node's reference bit, where an LRU list would relink entries: the tree reads a handful
 * of cached nodes per operation, so the cost of a hit matters more than the exact order of
 * eviction. The Map's insertion order is the clock: eviction walks it from the oldest entry,
 * moving referenced ones to the back with their bit cleared and dropping the rest.
 */
export class NodeCache {
  private readonly map = new Map<string, TreeNode>();
  private readonly maxSize: number;
  private readonly sizeOf: (node: TreeNode) => number;
  private size = 0;

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
    for (const [id, node] of this.map) {
      if (this.size <= this.maxSize) return;
      this.map.delete(id);
      if (node.cacheRef) {
        node.cacheRef = false;
        this.map.set(id, node);
      } else {
        this.size -= this.sizeOf(node);
      }
    }
  }
}
