import { HASH_BYTES } from '../hash.js';
import { TreeNode } from './node.js';

/** Nodes whose hashes share a prefix (rare: the prefix has 30 bits). */
type Slot = TreeNode | TreeNode[];

/** The first 30 bits of the hash at bytes[at], big-endian: a small-integer Map key. */
function prefixAt(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 22) | (bytes[at + 1]! << 14) | (bytes[at + 2]! << 6) | (bytes[at + 3]! >>> 2);
}

function hashIs(node: TreeNode, bytes: Uint8Array, at: number): boolean {
  const h = node.hash;
  for (let i = HASH_BYTES - 1; i >= 0; i--) if (h[i] !== bytes[at + i]) return false;
  return true;
}

/**
 * A byte-bounded cache of decoded nodes with CLOCK (second chance) eviction, keyed by node
 * hash. A lookup takes the hash where it lies (a parent node's bytes), so no key string or
 * view is made per read and none is kept per node: the Map's keys are small integers (a
 * hash prefix), and the rare nodes whose prefixes collide share a slot.
 *
 * A hit only sets the node's reference bit, where an LRU list would relink entries: the tree
 * reads a handful of cached nodes per operation, so the cost of a hit matters more than the
 * exact order of eviction. The Map's insertion order is the clock face and a live iterator over
 * it the hand: eviction goes on from where it stopped, clearing the bits of referenced entries
 * and dropping the others. A node is in one cache at a time (the bits are the node's).
 */
export class NodeCache {
  private readonly map = new Map<number, Slot>();
  private readonly maxSize: number;
  private readonly sizeOf: (node: TreeNode) => number;
  private size = 0;
  private nodes = 0;
  /** The clock hand: where the last eviction stopped. */
  private hand: IterableIterator<[number, Slot]> | undefined;
  /** Laps the hand has completed. */
  private lap = 0;

  constructor(maxSize: number, sizeOf: (node: TreeNode) => number) {
    this.maxSize = maxSize;
    this.sizeOf = sizeOf;
  }

  /** The node whose hash is bytes[at, at + 32), if cached. */
  get(bytes: Uint8Array, at = 0): TreeNode | undefined {
    const slot = this.map.get(prefixAt(bytes, at));
    if (slot === undefined) return undefined;
    if (slot instanceof TreeNode) {
      if (!hashIs(slot, bytes, at)) return undefined;
      slot.cacheRef = true;
      return slot;
    }
    for (const node of slot) {
      if (hashIs(node, bytes, at)) {
        node.cacheRef = true;
        return node;
      }
    }
    return undefined;
  }

  set(node: TreeNode): void {
    const key = prefixAt(node.hash, 0);
    const slot = this.map.get(key);
    if (slot !== undefined) {
      const old = slot instanceof TreeNode ? (hashIs(slot, node.hash, 0) ? slot : undefined) : slot.find((n) => hashIs(n, node.hash, 0));
      if (old === node) {
        node.cacheRef = true;
        return;
      }
      if (old !== undefined) this.remove(key, old);
    }
    const size = this.sizeOf(node);
    // Like lru-cache: an item larger than the whole cache is not kept.
    if (size > this.maxSize) return;
    // Appended at the end of the clock face, which may be just ahead of the hand: a new entry is
    // spared for the rest of the lap it arrived in (else a hand near the end evicts each new
    // node at once, and a walk over cold nodes fetches every node it passes again and again).
    node.cacheRef = false;
    node.cacheLap = this.lap;
    const now = this.map.get(key);
    if (now === undefined) this.map.set(key, node);
    else if (now instanceof TreeNode) this.map.set(key, [now, node]);
    else now.push(node);
    this.size += size;
    this.nodes++;
    if (this.size > this.maxSize) this.evict(node);
  }

  get count(): number {
    return this.nodes;
  }

  get bytes(): number {
    return this.size;
  }

  /** Drops a node from its slot (the slot's place on the clock face stays if others remain). */
  private remove(key: number, node: TreeNode): void {
    const slot = this.map.get(key)!;
    if (slot instanceof TreeNode) {
      this.map.delete(key);
    } else {
      slot.splice(slot.indexOf(node), 1);
      if (slot.length === 1) this.map.set(key, slot[0]!);
    }
    this.size -= this.sizeOf(node);
    this.nodes--;
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
    const visit = (key: number, node: TreeNode): void => {
      if (node.cacheRef) {
        node.cacheRef = false;
        (cleared ??= new Set()).add(node);
      } else if (node !== keep && node.cacheLap !== this.lap && (laps >= 2 || cleared === undefined || !cleared.has(node))) {
        this.remove(key, node);
      }
    };
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
      const [key, slot] = next.value;
      if (slot instanceof TreeNode) visit(key, slot);
      else for (const node of [...slot]) if (this.size > this.maxSize) visit(key, node);
    }
  }
}
