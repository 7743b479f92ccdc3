// A decoded tree node and its canonical CBOR codec.
//
// A node is the CBOR array [level, [key...], [value...]] (byte strings, shortest-form lengths,
// definite lengths only): the deterministic encoding cbor-x also produces for it (a test checks).
// The hot path encodes and decodes this one shape by hand: cbor-x needs ~33 µs to encode a 4 KiB
// node and a JS object per byte string to decode it, while a decoded node here is the blob bytes
// plus one Uint32Array of offsets, so cached nodes cost little more memory than their bytes.
import { bytesToHex, compareRange, hexInto } from '../bytes.js';
import { CorruptNodeError } from '../errors.js';
import { HASH_BYTES, type Hash } from '../hash.js';
import { sha256Hex } from '../sha256.js';
import { MAX_KEY_BYTES, MAX_LEVEL, MAX_VALUE_BYTES } from './format.js';
import { cborHeadLength, writeCborHead } from '../cbor-head.js';

export class TreeNode {
  readonly hash: Hash;
  readonly bytes: Uint8Array;
  readonly level: number;
  readonly count: number;
  /** keyStart, keyEnd, valueStart, valueEnd for each entry. */
  readonly offsets: Uint32Array;
  /** @internal The node cache's reference bit (CLOCK eviction). */
  cacheRef = false;
  /** NodeCache: the lap of its clock hand in which this node was inserted. */
  cacheLap = 0;

  constructor(hash: Hash, bytes: Uint8Array, level: number, offsets: Uint32Array) {
    this.hash = hash;
    this.bytes = bytes;
    this.level = level;
    this.offsets = offsets;
    this.count = offsets.length >> 2;
  }

  get isLeaf(): boolean {
    return this.level === 0;
  }

  key(i: number): Uint8Array {
    return this.bytes.subarray(this.offsets[4 * i]!, this.offsets[4 * i + 1]!);
  }

  value(i: number): Uint8Array {
    return this.bytes.subarray(this.offsets[4 * i + 2]!, this.offsets[4 * i + 3]!);
  }

  /** compareBytes(key(i), key) without allocating. */
  compareKeyAt(i: number, key: Uint8Array): number {
    return compareRange(this.bytes, this.offsets[4 * i]!, this.offsets[4 * i + 1]!, key);
  }

  /** Index of the first entry whose key is >= `key` (count when there is none). */
  lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareKeyAt(mid, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the child that holds `key`: the first whose max key is >= key, else the last. */
  childIndexFor(key: Uint8Array): number {
    const i = this.lowerBound(key);
    return i < this.count ? i : this.count - 1;
  }

  maxKey(): Uint8Array | undefined {
    return this.count === 0 ? undefined : this.key(this.count - 1);
  }

  /**
   * The hash as lowercase hex, made on demand: nodes are cached and looked up by their hash
   * bytes, and a string kept per node would cost more heap than the rest of its bookkeeping.
   */
  get id(): string {
    return bytesToHex(this.hash);
  }

  /** Hex id of child `i` (an inner node's value is its child's hash). */
  childId(i: number): string {
    return bytesToHex(this.bytes, this.offsets[4 * i + 2]!, this.offsets[4 * i + 3]!);
  }

  /** Payload bytes (keys plus values), what MAX_NODE_BYTES limits. */
  get payloadBytes(): number {
    let n = 0;
    for (let i = 0; i < this.offsets.length; i += 2) n += this.offsets[i + 1]! - this.offsets[i]!;
    return n;
  }
}


const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_ARRAY = 4;

/**
 * The entries of a node being built, as segments: either a run of consecutive entries of a
 * decoded node (copied from its bytes as two blocks, keys and values) or one fresh key/value.
 */
export class EntryBuffer {
  /** For a run: the node; for a fresh entry: undefined. */
  private segNode: (TreeNode | undefined)[] = [];
  /** For a run: [from, to) entry indices; for a fresh entry: unused. */
  private segFrom: number[] = [];
  private segTo: number[] = [];
  private segKey: (Uint8Array | undefined)[] = [];
  private segValue: (Uint8Array | undefined)[] = [];
  count = 0;
  payload = 0;

  push(key: Uint8Array, value: Uint8Array): void {
    this.segNode.push(undefined);
    this.segFrom.push(0);
    this.segTo.push(0);
    this.segKey.push(key);
    this.segValue.push(value);
    this.count++;
    this.payload += key.length + value.length;
  }

  /** Appends entries [from, to) of `node`; `payload` is their summed key and value lengths. */
  pushRun(node: TreeNode, from: number, to: number, payload: number): void {
    const last = this.segNode.length - 1;
    if (last >= 0 && this.segNode[last] === node && this.segTo[last] === from) {
      this.segTo[last] = to;
    } else {
      this.segNode.push(node);
      this.segFrom.push(from);
      this.segTo.push(to);
      this.segKey.push(undefined);
      this.segValue.push(undefined);
    }
    this.count += to - from;
    this.payload += payload;
  }

  clear(): void {
    this.segNode = [];
    this.segFrom = [];
    this.segTo = [];
    this.segKey = [];
    this.segValue = [];
    this.count = 0;
    this.payload = 0;
  }

  /** Encoded size of the keys (field 0) or values (field 2) section's byte strings. */
  sectionBytes(field: 0 | 2): number {
    let size = 0;
    for (let s = 0; s < this.segNode.length; s++) {
      const node = this.segNode[s];
      if (node === undefined) {
        const len = (field === 0 ? this.segKey[s]! : this.segValue[s]!).length;
        size += cborHeadLength(len) + len;
      } else {
        const o = node.offsets;
        const from = this.segFrom[s]!;
        const to = this.segTo[s]!;
        const first = o[4 * from + field]!;
        size += o[4 * (to - 1) + field + 1]! - (first - cborHeadLength(o[4 * from + field + 1]! - first));
      }
    }
    return size;
  }

  /** Writes one section from `pos`, filling the new node's offsets; returns the end position. */
  writeSection(out: Uint8Array, pos: number, field: 0 | 2, offsets: Uint32Array): number {
    let k = 0;
    for (let s = 0; s < this.segNode.length; s++) {
      const node = this.segNode[s];
      if (node === undefined) {
        const bytes = field === 0 ? this.segKey[s]! : this.segValue[s]!;
        pos = writeCborHead(out, pos, MAJOR_BYTES, bytes.length);
        out.set(bytes, pos);
        offsets[4 * k + field] = pos;
        pos += bytes.length;
        offsets[4 * k + field + 1] = pos;
        k++;
      } else {
        const o = node.offsets;
        const from = this.segFrom[s]!;
        const to = this.segTo[s]!;
        const first = o[4 * from + field]!;
        const start = first - cborHeadLength(o[4 * from + field + 1]! - first);
        const end = o[4 * (to - 1) + field + 1]!;
        out.set(node.bytes.subarray(start, end), pos);
        const delta = pos - start;
        for (let i = from; i < to; i++, k++) {
          offsets[4 * k + field] = o[4 * i + field]! + delta;
          offsets[4 * k + field + 1] = o[4 * i + field + 1]! + delta;
        }
        pos += end - start;
      }
    }
    return pos;
  }
}

/**
 * Node memory comes from shared slabs: creating an ArrayBuffer per node costs microseconds
 * in a large heap (more than encoding the node). A slab lives while any node in it does, so a
 * slab is kept small (a few dozen nodes) to bound what a long-lived node can pin.
 */
const SLAB_BYTES = 256 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function allocate(bytes: number): { buffer: ArrayBuffer; at: number } {
  const need = (bytes + 7) & ~7;
  if (need > SLAB_BYTES / 8) return { buffer: new ArrayBuffer(need), at: 0 };
  if (slabUsed + need > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += need;
  return { buffer: slab, at };
}

/** Encodes and hashes a node; keys must be strictly increasing (the caller guarantees it). */
export function encodeNode(level: number, e: EntryBuffer): TreeNode {
  const n = e.count;
  const size = 1 + cborHeadLength(level) + 2 * cborHeadLength(n) + e.sectionBytes(0) + e.sectionBytes(2);
  // One allocation holds both the bytes and the offsets table: allocating an ArrayBuffer costs
  // microseconds in a large heap, more than copying the node.
  // The node's hash goes there too, after the offsets.
  const offsetsAt = (size + 3) & ~3;
  const hashAt = offsetsAt + 16 * n;
  const { buffer, at } = allocate(hashAt + HASH_BYTES);
  const out = new Uint8Array(buffer, at, size);
  const offsets = new Uint32Array(buffer, at + offsetsAt, 4 * n);
  let pos = writeCborHead(out, 0, MAJOR_ARRAY, 3);
  pos = writeCborHead(out, pos, MAJOR_UINT, level);
  pos = writeCborHead(out, pos, MAJOR_ARRAY, n);
  pos = e.writeSection(out, pos, 0, offsets);
  pos = writeCborHead(out, pos, MAJOR_ARRAY, n);
  e.writeSection(out, pos, 2, offsets);
  const hash = new Uint8Array(buffer, at + hashAt, HASH_BYTES);
  hexInto(sha256Hex(out), hash, 0);
  return new TreeNode(hash, out, level, offsets);
}

/**
 * The node with entry i's value replaced by `value` of the same length: the same keys and the
 * same payload, so the boundary rule cuts it at the same places, and the same layout. The
 * bytes are copied and patched; the offsets table is the old node's (equal, and never written
 * after a node is made), which spares a put the fresh memory of one table per level.
 */
export function patchValue(node: TreeNode, i: number, value: Uint8Array): TreeNode {
  return patchValues(node, [i], [value]);
}

/** `node` with the values at `indices` replaced by values of the same lengths (one hash). */
export function patchValues(node: TreeNode, indices: readonly number[], values: readonly Uint8Array[]): TreeNode {
  const size = node.bytes.length;
  const { buffer, at } = allocate(size + HASH_BYTES);
  const out = new Uint8Array(buffer, at, size);
  out.set(node.bytes);
  for (let k = 0; k < indices.length; k++) out.set(values[k]!, node.offsets[4 * indices[k]! + 2]!);
  const hash = new Uint8Array(buffer, at + size, HASH_BYTES);
  hexInto(sha256Hex(out), hash, 0);
  return new TreeNode(hash, out, node.level, node.offsets);
}

/** Encodes a node from plain arrays of keys and values. */
export function buildNode(level: number, keys: readonly Uint8Array[], values: readonly Uint8Array[]): TreeNode {
  const e = new EntryBuffer();
  for (let i = 0; i < keys.length; i++) e.push(keys[i]!, values[i]!);
  return encodeNode(level, e);
}

/** Strictly parses a node blob: canonical CBOR of the node shape, sorted keys, sizes in limits. */
export function decodeNode(hash: Hash, bytes: Uint8Array): TreeNode {
  const fail = (reason: string): never => {
    throw new CorruptNodeError(bytesToHex(hash), reason);
  };
  let pos = 0;
  const header = (major: number, what: string): number => {
    if (pos >= bytes.length) fail(`truncated before ${what}`);
    const b = bytes[pos++]!;
    if (b >> 5 !== major) fail(`${what}: expected CBOR major type ${major}, found ${b >> 5}`);
    const info = b & 31;
    if (info < 24) return info;
    const len = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : fail(`${what}: unsupported length form ${info}`);
    if (pos + len > bytes.length) fail(`truncated in ${what}`);
    let n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + bytes[pos++]!;
    const min = len === 1 ? 24 : len === 2 ? 0x100 : 0x10000;
    if (n < min) fail(`${what}: length not in shortest form`);
    return n;
  };
  if (header(MAJOR_ARRAY, 'node') !== 3) fail('a node is an array of three items');
  const level = header(MAJOR_UINT, 'level');
  if (level > MAX_LEVEL) fail(`level ${level} is too deep`);
  const n = header(MAJOR_ARRAY, 'keys');
  if (n > bytes.length) fail('truncated key list');
  const slot = allocate(16 * n);
  const offsets = new Uint32Array(slot.buffer, slot.at, 4 * n);
  for (let i = 0; i < n; i++) {
    const len = header(MAJOR_BYTES, 'key');
    if (len > MAX_KEY_BYTES) fail(`key ${i} is ${len} bytes, over the limit`);
    if (pos + len > bytes.length) fail('truncated key');
    offsets[4 * i] = pos;
    pos += len;
    offsets[4 * i + 1] = pos;
    if (i > 0) {
      const prevStart = offsets[4 * i - 4]!;
      const prevEnd = offsets[4 * i - 3]!;
      const cmp = compareRange(bytes, prevStart, prevEnd, bytes.subarray(offsets[4 * i]!, pos));
      if (cmp >= 0) fail('keys are not strictly increasing');
    }
  }
  if (header(MAJOR_ARRAY, 'values') !== n) fail('key and value counts differ');
  for (let i = 0; i < n; i++) {
    const len = header(MAJOR_BYTES, 'value');
    if (len > MAX_VALUE_BYTES) fail(`value ${i} is ${len} bytes, over the limit`);
    if (level > 0 && len !== HASH_BYTES) fail('an inner node value must be a 32-byte hash');
    if (pos + len > bytes.length) fail('truncated value');
    offsets[4 * i + 2] = pos;
    pos += len;
    offsets[4 * i + 3] = pos;
  }
  if (pos !== bytes.length) fail('trailing bytes after the node');
  if (level > 0 && n === 0) fail('an inner node has no children');
  return new TreeNode(hash, bytes, level, offsets);
}

/** The empty tree: one leaf with no entries. */
export const EMPTY_NODE: TreeNode = buildNode(0, [], []);
