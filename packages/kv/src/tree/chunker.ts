import { MAX_NODE_BYTES, isBoundaryKey, minEntries } from './format.js';
import { buildNode, type TreeNode } from './node.js';

/**
 * Cuts a sorted stream of entries on one level into nodes. The cut depends only on the entries
 * since the last cut, so any two chunkers fed the same stream cut it at the same places: this is
 * what makes the tree's shape a function of its contents alone.
 */
export class Chunker {
  readonly level: number;
  private keys: Uint8Array[] = [];
  private values: Uint8Array[] = [];
  private bytes = 0;
  private readonly min: number;
  private readonly emit: (node: TreeNode) => void;

  constructor(level: number, emit: (node: TreeNode) => void) {
    this.level = level;
    this.min = minEntries(level);
    this.emit = emit;
  }

  /** True right after a cut: the next entry starts a node. */
  get fresh(): boolean {
    return this.keys.length === 0;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    this.keys.push(key);
    this.values.push(value);
    this.bytes += key.length + value.length;
    if (this.keys.length >= this.min && (this.bytes >= MAX_NODE_BYTES || isBoundaryKey(key, this.level))) this.cut();
  }

  /** Ends the stream: whatever is pending becomes the level's last node. */
  finish(): void {
    if (this.keys.length > 0) this.cut();
  }

  private cut(): void {
    const node = buildNode(this.level, this.keys, this.values);
    this.keys = [];
    this.values = [];
    this.bytes = 0;
    this.emit(node);
  }
}
