// The small mutable table of a repository: names (branches, tags) -> hashes, with
// compare-and-swap updates.
import type { AbstractSublevel } from 'abstract-level';
import { bytesToHex, compareBytes, equalBytes, type Hash, type LevelDatabase, type MemoryBlobStore } from '@cafs/kv';
import { ConflictError } from './errors.js';

/** `expect`: the hash the name must hold now (undefined: it must not exist). */
export interface NameStore {
  get(name: string): Promise<Hash | undefined>;
  /** Sets (or with `next` undefined, deletes) `name` if it holds `expect`; else ConflictError. */
  compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void>;
  /** Names starting with `prefix`, in order. */
  list(prefix: string): AsyncIterable<[string, Hash]>;
  close(): Promise<void>;
}

const same = (a: Hash | undefined, b: Hash | undefined): boolean => (a === undefined || b === undefined ? a === b : equalBytes(a, b));

/**
 * Names in a sublevel of an abstract-level database (the blob store's own, so one directory
 * holds a whole repository). Compare-and-swap is atomic within the process, which is what
 * LevelDB's single-process lock allows anyway.
 */
export class LevelNameStore implements NameStore {
  private readonly table: AbstractSublevel<LevelDatabase, unknown, string, Uint8Array>;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(db: LevelDatabase, sublevel = 'names') {
    this.table = db.sublevel<string, Uint8Array>(sublevel, { keyEncoding: 'utf8', valueEncoding: 'view' }) as AbstractSublevel<
      LevelDatabase,
      unknown,
      string,
      Uint8Array
    >;
  }

  async get(name: string): Promise<Hash | undefined> {
    return this.getNow(name) ?? (await this.table.get(name)) ?? undefined;
  }

  /**
   * The name's hash without waiting, where the database reads synchronously (memory-level,
   * classic-level): null when it cannot. A mount's every root reads a branch head here.
   */
  private getNow(name: string): Hash | undefined | null {
    const t = this.table;
    // getSync throws while the database opens (get waits for it).
    if (t.status !== 'open' || (t.supports as { getSync?: boolean }).getSync !== true) return null;
    return t.getSync(name) ?? undefined;
  }

  compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void> {
    const run = this.lock.then(async () => {
      const now = this.getNow(name);
      const actual = now !== null ? now : await this.get(name);
      if (!same(actual, expect)) {
        throw new ConflictError(name, expect && bytesToHex(expect), actual && bytesToHex(actual));
      }
      if (next === undefined) await this.table.del(name);
      else await this.table.put(name, next.slice());
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  async *list(prefix: string): AsyncGenerator<[string, Hash]> {
    // Keys sort by their UTF-8 bytes: those with the prefix form one run from it (no upper bound
    // in text: a character beyond U+FFFF sorts after U+FFFF there).
    for await (const [k, v] of this.table.iterator({ gte: prefix })) {
      if (!k.startsWith(prefix)) break;
      yield [k, v];
    }
  }

  async close(): Promise<void> {}
}

const utf8 = new TextEncoder();

/**
 * Names in memory, for the in-memory repository: a Map, so a compare-and-swap (one per change of
 * a mount) is a lookup and a set, not a trip through abstract-level. Listing sorts the names
 * by their UTF-8 bytes, as LevelNameStore's utf8 keys do.
 */
export class MemoryNameStore implements NameStore {
  private readonly table = new Map<string, Hash>();

  get(name: string): Promise<Hash | undefined> {
    return Promise.resolve(this.table.get(name));
  }

  compareAndSwap(name: string, expect: Hash | undefined, next: Hash | undefined): Promise<void> {
    const actual = this.table.get(name);
    if (!same(actual, expect)) {
      return Promise.reject(new ConflictError(name, expect && bytesToHex(expect), actual && bytesToHex(actual)));
    }
    if (next === undefined) this.table.delete(name);
    else this.table.set(name, next.slice());
    return Promise.resolve();
  }

  async *list(prefix: string): AsyncGenerator<[string, Hash]> {
    // A snapshot, as a database iterator gives.
    const hits = [...this.table].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => ({ k, v, b: utf8.encode(k) }));
    hits.sort((x, y) => compareBytes(x.b, y.b));
    for (const h of hits) yield [h.k, h.v];
  }

  async close(): Promise<void> {}
}

const memoryNames = new WeakMap<MemoryBlobStore, MemoryNameStore>();

/** The names of an in-memory store: one table per store, shared by every Repo opened on it. */
export function memoryNamesOf(store: MemoryBlobStore): MemoryNameStore {
  let names = memoryNames.get(store);
  if (names === undefined) memoryNames.set(store, (names = new MemoryNameStore()));
  return names;
}
