// The small mutable table of a repository: names (branches, tags) -> hashes, with
// compare-and-swap updates.
import type { AbstractSublevel } from 'abstract-level';
import { bytesToHex, equalBytes, type Hash, type LevelDatabase } from '@cafs/kv';
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
    // U+FFFF sorts after every name character we allow.
    for await (const [k, v] of this.table.iterator({ gte: prefix, lt: prefix + '\uffff' })) yield [k, v];
  }

  async close(): Promise<void> {}
}
