import { MAX_NODE_BYTES, isBoundaryKey, isBoundaryKeyRange, minEntries } from './format.js';
import { EntryBuffer, encodeNode, type TreeNode } from './node.js';

/**
 * Cuts a sorted stream of entries on one level into nodes. The cut depends only on the entries
 * since the last cut, so any two chunkers fed the same stream cut it at the same places: this is
 * what makes the tree's shape a function of its contents alone.
 */
export class Chunker {
  readonly level: number;
  private readonly entries = new EntryBuffer();
  private readonly min: number;
  private readonly emit: (node: TreeNode) => void;

  constructor(level: number, emit: (node: TreeNode) => void) {
    this.level = level;
    this.min = minEntries(level);
    this.emit = emit;
  }

  /** True right after a cut: the next entry starts a node. */
  get fresh(): boolean {
    return this.entries.count === 0;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    this.entries.push(key, value);
    if (this.entries.count >= this.min && (this.entries.payload >= MAX_NODE_BYTES || isBoundaryKey(key, this.level))) this.cut();
  }

  /**
   * Adds entries [from, to) of an existing node of this level, unchanged. In a node that the
   * boundary rule cut, no entry but the last (and, on inner levels, the first, which the
   * two-entry minimum may have kept) is a boundary key, so only those keys need hashing here;
   * the payload cap is checked entry by entry as the new node's payload differs.
   */
  addRun(node: TreeNode, from: number, to: number): void {
    const o = node.offsets;
    const lastIndex = node.count - 1;
    const entries = this.entries;
    let count = entries.count;
    let payload = entries.payload;
    let start = from;
    let runPayload = 0;
    for (let i = from; i < to; i++) {
      const ks = o[4 * i]!;
      const ke = o[4 * i + 1]!;
      const p = ke - ks + o[4 * i + 3]! - o[4 * i + 2]!;
      count++;
      payload += p;
      runPayload += p;
      if (
        count >= this.min &&
        (payload >= MAX_NODE_BYTES ||
          ((i === lastIndex || (i === 0 && this.level > 0)) && isBoundaryKeyRange(node.bytes, ks, ke, this.level)))
      ) {
        entries.pushRun(node, start, i + 1, runPayload);
        this.cut();
        start = i + 1;
        runPayload = 0;
        count = 0;
        payload = 0;
      }
    }
    if (start < to) entries.pushRun(node, start, to, runPayload);
  }

  /** Ends the stream: whatever is pending becomes the level's last node. */
  finish(): void {
    if (this.entries.count > 0) this.cut();
  }

  private cut(): void {
    const node = encodeNode(this.level, this.entries);
    this.entries.clear();
    this.emit(node);
  }
}
