import { CorruptNodeError } from '../errors.js';
import type { Hash } from '../hash.js';
import type { Entry } from './entry.js';
import type { TreeNode } from './node.js';
import type { NodeStore } from './node-store.js';

interface Frame {
  node: TreeNode;
  /** In inner frames, the child descended into; in the leaf frame, the position between entries. */
  index: number;
}

/**
 * A seekable position between two entries of one tree, moving either way.
 * `seek(key)` puts it just before the first entry >= key; `next()` returns the entry after the
 * position and steps over it, `prev()` the one before.
 */
export class Cursor {
  private readonly nodes: NodeStore;
  private readonly root: Hash;
  private stack: Frame[] = [];

  constructor(nodes: NodeStore, root: Hash) {
    this.nodes = nodes;
    this.root = root;
  }

  /** Just before the first entry >= key (the very start when key is undefined). */
  async seek(key?: Uint8Array): Promise<void> {
    await this.descendFromRoot(key === undefined ? 'first' : key);
  }

  /** Just after the last entry. */
  async seekEnd(): Promise<void> {
    await this.descendFromRoot('last');
  }

  async next(): Promise<Entry | undefined> {
    if (this.stack.length === 0) await this.seek();
    for (;;) {
      const leaf = this.stack[this.stack.length - 1]!;
      if (leaf.index < leaf.node.count) {
        const i = leaf.index++;
        return { key: leaf.node.key(i), value: leaf.node.value(i) };
      }
      if (!(await this.stepLeaf(1))) return undefined;
    }
  }

  async prev(): Promise<Entry | undefined> {
    if (this.stack.length === 0) await this.seekEnd();
    for (;;) {
      const leaf = this.stack[this.stack.length - 1]!;
      if (leaf.index > 0) {
        const i = --leaf.index;
        return { key: leaf.node.key(i), value: leaf.node.value(i) };
      }
      if (!(await this.stepLeaf(-1))) return undefined;
    }
  }

  private async descendFromRoot(target: Uint8Array | 'first' | 'last'): Promise<void> {
    const root = await this.nodes.root(this.root);
    this.stack = [{ node: root, index: 0 }];
    await this.descend(target);
  }

  /** Descends from the bottom frame to a leaf, choosing children by `target`. */
  private async descend(target: Uint8Array | 'first' | 'last'): Promise<void> {
    let frame = this.stack[this.stack.length - 1]!;
    while (frame.node.level > 0) {
      const node = frame.node;
      frame.index = target === 'first' ? 0 : target === 'last' ? node.count - 1 : node.childIndexFor(target);
      const child = this.nodes.cachedChild(node, frame.index) ?? (await this.nodes.child(node, frame.index));
      frame = { node: child, index: 0 };
      this.stack.push(frame);
    }
    const leaf = frame.node;
    frame.index = target === 'first' ? 0 : target === 'last' ? leaf.count : leaf.lowerBound(target);
  }

  /** Moves to the neighbouring leaf (dir 1: next, at its start; -1: previous, at its end). */
  private async stepLeaf(dir: 1 | -1): Promise<boolean> {
    let depth = this.stack.length - 2;
    while (depth >= 0) {
      const f = this.stack[depth]!;
      const i = f.index + dir;
      if (i >= 0 && i < f.node.count) break;
      depth--;
    }
    if (depth < 0) return false;
    this.stack.length = depth + 1;
    const frame = this.stack[depth]!;
    frame.index += dir;
    const child = this.nodes.cachedChild(frame.node, frame.index) ?? (await this.nodes.child(frame.node, frame.index));
    if (child.count === 0) throw new CorruptNodeError(child.id, 'an empty node below the root');
    this.stack.push({ node: child, index: 0 });
    await this.descend(dir === 1 ? 'first' : 'last');
    return true;
  }
}
