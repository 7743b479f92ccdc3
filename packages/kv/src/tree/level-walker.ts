import type { TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

interface Frame {
  node: TreeNode;
  index: number;
}

/**
 * Walks the nodes of one level of a tree in key order without loading them: it knows each
 * node's hash and key bounds from the parents above it.
 */
export class LevelWalker {
  readonly level: number;
  private readonly nodes: NodeStore;
  private readonly root: TreeNode;
  /** Frames from the root down to the level above `level` (empty when `level` is the root's). */
  private stack: Frame[] = [];

  constructor(nodes: NodeStore, root: TreeNode, level: number) {
    this.nodes = nodes;
    this.root = root;
    this.level = level;
  }

  /** Moves to the node on this level that holds `key` (the first node when key is undefined). */
  async seek(key: Uint8Array | undefined): Promise<void> {
    this.stack = [];
    if (this.root.level === this.level) return;
    let node = this.root;
    for (;;) {
      const index = key === undefined ? 0 : node.childIndexFor(key);
      this.stack.push({ node, index });
      if (node.level === this.level + 1) return;
      node = this.nodes.cachedChild(node, index) ?? (await this.nodes.child(node, index));
    }
  }

  /** The current node's largest key (undefined only for the empty tree). */
  maxKey(): Uint8Array | undefined {
    const f = this.stack[this.stack.length - 1];
    return f === undefined ? this.root.maxKey() : f.node.key(f.index);
  }

  /** The largest key of the node before the current one on this level, if any. */
  lowerKey(): Uint8Array | undefined {
    for (let d = this.stack.length - 1; d >= 0; d--) {
      const f = this.stack[d]!;
      if (f.index > 0) return f.node.key(f.index - 1);
    }
    return undefined;
  }

  hash(): Uint8Array {
    const f = this.stack[this.stack.length - 1];
    return f === undefined ? this.root.hash : f.node.value(f.index);
  }

  isLast(): boolean {
    return this.stack.every((f) => f.index === f.node.count - 1);
  }

  async load(): Promise<TreeNode> {
    const f = this.stack[this.stack.length - 1];
    if (f === undefined) return this.root;
    return this.nodes.cachedChild(f.node, f.index) ?? (await this.nodes.child(f.node, f.index));
  }

  /** Steps to the next node on this level; false at the end. */
  async next(): Promise<boolean> {
    let depth = this.stack.length - 1;
    while (depth >= 0 && this.stack[depth]!.index + 1 >= this.stack[depth]!.node.count) depth--;
    if (depth < 0) return false;
    this.stack.length = depth + 1;
    this.stack[depth]!.index++;
    let f = this.stack[depth]!;
    while (f.node.level > this.level + 1) {
      const child = this.nodes.cachedChild(f.node, f.index) ?? (await this.nodes.child(f.node, f.index));
      f = { node: child, index: 0 };
      this.stack.push(f);
    }
    return true;
  }
}
