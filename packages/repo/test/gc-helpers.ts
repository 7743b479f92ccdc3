// Shared by the gc tests: a guarded repository, a complete read of a root, and an independent
// computation of the blobs a collection must keep.
import { MemoryBlobStore, Tree, bytesToHex, sha256, type Hash } from '@cafs/kv';
import { Fs, decodeExtent } from '@cafs/fs';
import { Repo } from '../src/repo.js';
import { LevelNameStore } from '../src/names.js';
import { GcGuard, guardStore, readGcState } from '../src/gc.js';

export const hex = (h: Uint8Array): string => bytesToHex(h);

export function guardedRepo(start = 1_700_000_000_000_000_000n): { repo: Repo; guard: GcGuard; inner: MemoryBlobStore; clock: { t: bigint } } {
  const inner = new MemoryBlobStore();
  const guard = guardStore(inner);
  const clock = { t: start };
  const repo = new Repo({ store: guard, names: new LevelNameStore(inner.db), now: () => (clock.t += 1_000_000n) });
  return { repo, guard, inner, clock };
}

/**
 * Reads every file, link and directory of `root` through a fresh reader (no caches shared with
 * the writer, so a missing node or blob shows): path -> sha256 of the content.
 */
export async function readAll(store: MemoryBlobStore | GcGuard | Repo['store'], root: Hash): Promise<Map<string, string>> {
  // A fresh reader: every node and blob is fetched from the store at least once.
  const fs = new Fs(store, { cacheBytes: 32 << 20, blobCacheBytes: 32 << 20 });
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(root, dir, { withFileTypes: true })) {
      const path = (dir === '/' ? '' : dir) + '/' + e.name;
      if (e.type === 'directory') {
        out.set(path + '/', 'dir');
        await walk(path);
      } else if (e.type === 'symlink') out.set(path, 'link:' + (await fs.readlink(root, path)));
      else out.set(path, hex(sha256(await fs.readFile(root, path))));
    }
  };
  await walk('/');
  return out;
}

/** The live set, computed with Tree.reachableNodes and fs entries, independently of gc.ts. */
export async function referenceLive(repo: Repo, roots: Iterable<Hash>, kept: Iterable<Hash>): Promise<Set<string>> {
  const tree = new Tree(repo.store, { cacheBytes: 1 << 20 });
  const live = new Set<string>();
  for (const k of kept) live.add(hex(k));
  for (const root of roots) {
    for await (const n of tree.reachableNodes(root)) live.add(hex(n));
    for await (const e of tree.entries(root)) {
      const k = e.key;
      if (k.length >= 10 && k[k.length - 9] === 0) {
        const x = decodeExtent(e.value);
        if (x.ref !== undefined) live.add(hex(x.ref));
      }
    }
  }
  const state = await readGcState(repo);
  if (state !== undefined) {
    live.add(hex(state.hash));
    for await (const n of tree.reachableNodes(state.meta)) live.add(hex(n));
  }
  live.delete(hex(Tree.EMPTY_ROOT));
  return live;
}

export async function storedHashes(store: { hashes(): AsyncIterable<Hash> }): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const h of store.hashes()) out.add(hex(h));
  return out;
}

/** sfc32 through splitmix32: the same stream everywhere. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  below(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
}
