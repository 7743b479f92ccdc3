import { MAX_NODE_BYTES, entryWeight, isBoundaryRange, minEntries } from './format.js';
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
  /** Summed entry weights since the last cut. */
  private weight = 0;

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
    const entries = this.entries;
    entries.push(key, value);
    const w = entryWeight(key.length, value.length);
    this.weight += w;
    if (
      entries.count >= this.min &&
      (entries.payload >= MAX_NODE_BYTES || isBoundaryRange(key, 0, key.length, this.level, this.weight, w))
    ) {
      this.cut();
    }
  }

  /**
   * Adds entries [from, to) of an existing node of this level, unchanged. An entry of that node
   * other than its last did not end it, at the weight the node had reached there: its hash was
   * at or above the threshold for that weight. The threshold grows with the weight, so where
   * the node being built weighs no more than the old one did at that entry (the same state, a
   * delete or a cut before it, a value of another length), the entry cannot end it either and
   * is not hashed. Only entries that come after more weight than before (after an insert, or
   * carried over from a node before) are hashed. (On inner levels an old node's first entry may
   * have stood only for the two-entry minimum, so it is always hashed.)
   */
  addRun(node: TreeNode, from: number, to: number): void {
    const o = node.offsets;
    const lastIndex = node.count - 1;
    const entries = this.entries;
    let oldWeight = 0;
    for (let i = 0; i < from; i++) oldWeight += entryWeight(o[4 * i + 1]! - o[4 * i]!, o[4 * i + 3]! - o[4 * i + 2]!);
    let count = entries.count;
    let payload = entries.payload;
    let weight = this.weight;
    let start = from;
    let runPayload = 0;
    for (let i = from; i < to; i++) {
      const ks = o[4 * i]!;
      const ke = o[4 * i + 1]!;
      const p = ke - ks + o[4 * i + 3]! - o[4 * i + 2]!;
      const w = entryWeight(ke - ks, o[4 * i + 3]! - o[4 * i + 2]!);
      count++;
      payload += p;
      runPayload += p;
      weight += w;
      oldWeight += w;
      if (
        count >= this.min &&
        (payload >= MAX_NODE_BYTES ||
          ((weight > oldWeight || i === lastIndex || (i === 0 && this.level > 0)) &&
            isBoundaryRange(node.bytes, ks, ke, this.level, weight, w)))
      ) {
        entries.pushRun(node, start, i + 1, runPayload);
        this.cut();
        start = i + 1;
        runPayload = 0;
        count = 0;
        payload = 0;
        weight = 0;
      }
    }
    if (start < to) {
      entries.pushRun(node, start, to, runPayload);
      this.weight = weight;
    }
  }

  /** Ends the stream: whatever is pending becomes the level's last node. */
  finish(): void {
    if (this.entries.count > 0) this.cut();
  }

  private cut(): void {
    const node = encodeNode(this.level, this.entries);
    this.entries.clear();
    this.weight = 0;
    this.emit(node);
  }
}
