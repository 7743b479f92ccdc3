import { Chunker } from './chunker.js';
import type { TreeNode } from './node.js';

/**
 * Builds the levels of a tree bottom-up from a sorted stream of entries on level `base`,
 * cascading each node it cuts into the level above. `finish` returns the root: the node of the
 * first level that holds a single node.
 */
export class LevelBuilder {
  private readonly base: number;
  private readonly onNode: (node: TreeNode) => void;
  private readonly chunkers: Chunker[] = [];
  private readonly counts: number[] = [];
  private readonly lastNodes: TreeNode[] = [];

  constructor(base: number, onNode: (node: TreeNode) => void) {
    this.base = base;
    this.onNode = onNode;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    this.chunker(0).add(key, value);
  }

  /** The root, or undefined when nothing was added. */
  finish(): TreeNode | undefined {
    for (let i = 0; i < this.chunkers.length; i++) {
      this.chunkers[i]!.finish();
      if (this.counts[i] === 1) return this.lastNodes[i];
      if (this.counts[i] === 0) return undefined;
    }
    return undefined;
  }

  private chunker(i: number): Chunker {
    let c = this.chunkers[i];
    if (c === undefined) {
      this.counts[i] = 0;
      c = new Chunker(this.base + i, (node) => {
        this.counts[i]!++;
        this.lastNodes[i] = node;
        this.onNode(node);
        this.chunker(i + 1).add(node.maxKey()!, node.hash);
      });
      this.chunkers[i] = c;
    }
    return c;
  }
}
