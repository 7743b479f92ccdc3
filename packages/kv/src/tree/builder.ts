import { compareBytes } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import type { Hash } from '../hash.js';
import { checkKey, checkValue } from './entry.js';
import { LevelBuilder } from './level-builder.js';
import { EMPTY_NODE, type TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

/** Nodes are written in batches of this many while a build goes on. */
const WRITE_BATCH = 2048;

/**
 * Bulk-loads entries given in strictly increasing key order in O(n), producing the same root as
 * any other way of reaching the same entries.
 */
export class Builder {
  private readonly nodes: NodeStore;
  private readonly levels: LevelBuilder;
  private pending: TreeNode[] = [];
  private writing: Promise<void> = Promise.resolve();
  private lastKey: Uint8Array | undefined;
  private finished = false;

  constructor(nodes: NodeStore) {
    this.nodes = nodes;
    this.levels = new LevelBuilder(0, (node) => {
      // Freshly built trees are usually read next; the LRU evicts what does not fit.
      nodes.remember(node);
      this.pending.push(node);
      if (this.pending.length >= WRITE_BATCH) this.flushPending();
    });
  }

  /** Adds one entry; its key must be greater than the previous one's. */
  add(key: Uint8Array, value: Uint8Array): void {
    if (this.finished) throw new InvalidArgumentError('this builder has finished');
    checkKey(key);
    checkValue(value);
    if (this.lastKey !== undefined && compareBytes(key, this.lastKey) <= 0) {
      throw new InvalidArgumentError('builder keys must be added in strictly increasing order');
    }
    this.lastKey = key;
    this.levels.add(key, value);
  }

  /** Writes the remaining nodes and returns the root. */
  async finish(): Promise<Hash> {
    if (this.finished) throw new InvalidArgumentError('this builder has finished');
    this.finished = true;
    const root = this.levels.finish();
    if (root === undefined) {
      await this.writing;
      return EMPTY_NODE.hash;
    }
    // Nodes above the root (a lone entry waiting on the next level) are never emitted.
    this.flushPending();
    await this.writing;
    return root.hash;
  }

  private flushPending(): void {
    const batch = this.pending;
    this.pending = [];
    const prev = this.writing;
    this.writing = (async () => {
      await prev;
      await this.nodes.write(batch);
    })();
    // Surface errors at finish(), not as unhandled rejections.
    this.writing.catch(() => undefined);
  }
}
