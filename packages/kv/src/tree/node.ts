// A decoded tree node and its canonical CBOR codec.
//
// A node is the CBOR array [level, [key...], [value...]] (byte strings, shortest-form lengths,
// definite lengths only): the deterministic encoding cbor-x also produces for it (a test checks).
// The hot path encodes and decodes this one shape by hand: cbor-x needs ~33 µs to encode a 4 KiB
// node and a JS object per byte string to decode it, while a decoded node here is the blob bytes
// plus one Uint32Array of offsets, so cached nodes cost little more memory than their bytes.
import { bytesToHex, compareRange } from '../bytes.js';
import { CorruptNodeError } from '../errors.js';
import { HASH_BYTES, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import { MAX_KEY_BYTES, MAX_LEVEL, MAX_VALUE_BYTES } from './format.js';

export class TreeNode {
  readonly hash: Hash;
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly level: number;
  readonly count: number;
  /** keyStart, keyEnd, valueStart, valueEnd for each entry. */
  private readonly offsets: Uint32Array;
  private childIds: (string | undefined)[] | undefined;

  constructor(hash: Hash, id: string, bytes: Uint8Array, level: number, offsets: Uint32Array) {
    this.hash = hash;
    this.id = id;
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

  /** Hex id of child `i`, memoised (it is the cache key). */
  childId(i: number): string {
    this.childIds ??= new Array<string | undefined>(this.count);
    let id = this.childIds[i];
    if (id === undefined) {
      id = bytesToHex(this.bytes, this.offsets[4 * i + 2]!, this.offsets[4 * i + 3]!);
      this.childIds[i] = id;
    }
    return id;
  }

  /** Payload bytes (keys plus values), what MAX_NODE_BYTES limits. */
  get payloadBytes(): number {
    let n = 0;
    for (let i = 0; i < this.offsets.length; i += 2) n += this.offsets[i + 1]! - this.offsets[i]!;
    return n;
  }
}

function headerLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function writeHeader(out: Uint8Array, pos: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[pos] = m | n;
    return pos + 1;
  }
  if (n < 0x100) {
    out[pos] = m | 24;
    out[pos + 1] = n;
    return pos + 2;
  }
  if (n < 0x10000) {
    out[pos] = m | 25;
    out[pos + 1] = n >>> 8;
    out[pos + 2] = n & 0xff;
    return pos + 3;
  }
  out[pos] = m | 26;
  out[pos + 1] = n >>> 24;
  out[pos + 2] = (n >>> 16) & 0xff;
  out[pos + 3] = (n >>> 8) & 0xff;
  out[pos + 4] = n & 0xff;
  return pos + 5;
}

const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_ARRAY = 4;

/** Encodes and hashes a node; keys must be strictly increasing (the caller guarantees it). */
export function buildNode(level: number, keys: readonly Uint8Array[], values: readonly Uint8Array[]): TreeNode {
  const n = keys.length;
  let size = 1 + headerLength(level) + 2 * headerLength(n);
  for (let i = 0; i < n; i++) {
    size += headerLength(keys[i]!.length) + keys[i]!.length + headerLength(values[i]!.length) + values[i]!.length;
  }
  const out = new Uint8Array(size);
  const offsets = new Uint32Array(4 * n);
  let pos = writeHeader(out, 0, MAJOR_ARRAY, 3);
  pos = writeHeader(out, pos, MAJOR_UINT, level);
  pos = writeHeader(out, pos, MAJOR_ARRAY, n);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    pos = writeHeader(out, pos, MAJOR_BYTES, k.length);
    out.set(k, pos);
    offsets[4 * i] = pos;
    pos += k.length;
    offsets[4 * i + 1] = pos;
  }
  pos = writeHeader(out, pos, MAJOR_ARRAY, n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    pos = writeHeader(out, pos, MAJOR_BYTES, v.length);
    out.set(v, pos);
    offsets[4 * i + 2] = pos;
    pos += v.length;
    offsets[4 * i + 3] = pos;
  }
  const hash = sha256(out);
  return new TreeNode(hash, bytesToHex(hash), out, level, offsets);
}

/** Strictly parses a node blob: canonical CBOR of the node shape, sorted keys, sizes in limits. */
export function decodeNode(hash: Hash, id: string, bytes: Uint8Array): TreeNode {
  const fail = (reason: string): never => {
    throw new CorruptNodeError(id, reason);
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
  const offsets = new Uint32Array(4 * n);
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
  return new TreeNode(hash, id, bytes, level, offsets);
}

/** The empty tree: one leaf with no entries. */
export const EMPTY_NODE: TreeNode = buildNode(0, [], []);
