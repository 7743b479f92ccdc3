import { compareBytes, utf8 } from '../src/bytes.js';
import '../src/node.js';
import { MemoryBlobStore } from '../src/store/level-blob-store.js';
import { Tree, type TreeOptions } from '../src/tree/tree.js';
import type { Entry } from '../src/tree/entry.js';
import type { Hash } from '../src/hash.js';

export const k = (s: string): Uint8Array => utf8(s);

export function newTree(options: TreeOptions = {}): Tree {
  return new Tree(new MemoryBlobStore(), options);
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function allEntries(tree: Tree, root: Hash): Promise<Entry[]> {
  return collect(tree.entries(root));
}

/** A sorted map of byte keys: the model the tree is checked against. */
export class ModelMap {
  private map = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  static id(key: Uint8Array): string {
    return Buffer.from(key).toString('hex');
  }
  put(key: Uint8Array, value: Uint8Array): void {
    this.map.set(ModelMap.id(key), { key, value });
  }
  delete(key: Uint8Array): void {
    this.map.delete(ModelMap.id(key));
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(ModelMap.id(key))?.value;
  }
  deleteRange(lo: Uint8Array | undefined, hi: Uint8Array | undefined): void {
    for (const [id, e] of this.map) {
      if ((lo === undefined || compareBytes(e.key, lo) >= 0) && (hi === undefined || compareBytes(e.key, hi) < 0)) this.map.delete(id);
    }
  }
  sorted(): { key: Uint8Array; value: Uint8Array }[] {
    return [...this.map.values()].sort((a, b) => compareBytes(a.key, b.key));
  }
  get size(): number {
    return this.map.size;
  }
}

/** Plain copies, so comparisons see bytes, not Buffer/Uint8Array identity. */
export const plain = (entries: { key: Uint8Array; value: Uint8Array }[]): [string, string][] =>
  entries.map((e) => [Buffer.from(e.key).toString('hex'), Buffer.from(e.value).toString('hex')]);

/** Deterministic pseudo-random bytes (xorshift32) for big fixtures. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function randomKey(next: () => number, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const r = next();
    out[i] = r & 0xff;
    if (i + 1 < length) out[i + 1] = (r >>> 8) & 0xff;
    if (i + 2 < length) out[i + 2] = (r >>> 16) & 0xff;
    if (i + 3 < length) out[i + 3] = r >>> 24;
  }
  return out;
}
