// Reading the key-value tree of a root, and a transaction that layers writes over it.
import btreeModule from 'sorted-btree';
import { NOT_CACHED, bytesToHex, compareBytes, type Entry, type Hash, type Tree, type Edit } from '@cafs/kv';
import { FsError } from './errors.js';

// A CommonJS module with `exports.default`: Node hands ESM the exports object, bundlers
// (vitest, browsers) often the default export itself.
type BTreeClass = typeof btreeModule.default;
const BTree: BTreeClass = (btreeModule as unknown as { default?: BTreeClass }).default ?? (btreeModule as unknown as BTreeClass);
type SortedMap = InstanceType<typeof BTree<Uint8Array, Uint8Array>>;

/** An overlay's mark for a deleted key (compared by identity), so one lookup tells all three cases. */
const DELETED = new Uint8Array(0);

export interface Range {
  gt?: Uint8Array | undefined;
  gte?: Uint8Array | undefined;
  lt?: Uint8Array | undefined;
}

/** What filesystem reads need from the tree. */
export interface KvReader {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** `get` without waiting when nothing needs loading; NOT_CACHED otherwise (then `get`). */
  peek(key: Uint8Array): Uint8Array | undefined | typeof NOT_CACHED;
  /** Entries in key order within the range. */
  entries(range: Range): AsyncIterable<Entry>;
}

/** The value at `key`: at once when nothing needs loading (no promise chain), else the read. */
export function valueAt(reader: KvReader, key: Uint8Array): Uint8Array | undefined | Promise<Uint8Array | undefined> {
  const v = reader.peek(key);
  return v === NOT_CACHED ? reader.get(key) : v;
}

export class TreeReader implements KvReader {
  constructor(
    readonly tree: Tree,
    readonly root: Hash,
  ) {}

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.tree.get(this.root, key);
  }

  peek(key: Uint8Array): Uint8Array | undefined | typeof NOT_CACHED {
    return this.tree.getCached(this.root, key);
  }

  entries(range: Range): AsyncIterable<Entry> {
    return this.tree.entries(this.root, range);
  }
}

function inRange(key: Uint8Array, range: Range): boolean {
  if (range.gt !== undefined && compareBytes(key, range.gt) <= 0) return false;
  if (range.gte !== undefined && compareBytes(key, range.gte) < 0) return false;
  if (range.lt !== undefined && compareBytes(key, range.lt) >= 0) return false;
  return true;
}

/**
 * Writes layered over a base root: reads see them at once; `flush` applies them all to the
 * tree in one pass per range delete plus one batch mutation, giving one new root.
 */
export class Txn implements KvReader {
  readonly tree: Tree;
  /** The root under the overlay (a forked Txn reads its parent instead, then the parent's root). */
  private base: Hash;
  /** Overlay: a value, or DELETED. */
  private readonly writes: SortedMap = new BTree<Uint8Array, Uint8Array>(undefined, compareBytes);
  /** Ranges [lo, hi) deleted from the base (writes made after a delete live in `writes`). */
  private readonly deleted: { lo: Uint8Array; hi: Uint8Array }[] = [];
  /** The root `flush` gave. */
  private flushedRoot: Hash | undefined;

  /** `parent`: a Txn this one is layered on (see `fork`); reads fall through to it. */
  constructor(tree: Tree, base: Hash, private parent?: Txn) {
    this.tree = tree;
    this.base = base;
  }

  /** A Txn over this one's current state; it flushes onto this one's root (flush this one first). */
  fork(): Txn {
    return new Txn(this.tree, this.base, this);
  }

  /** The parent, while its operations are not yet a root: reads go through it. */
  private get unflushedParent(): Txn | undefined {
    const p = this.parent;
    if (p?.flushedRoot === undefined) return p;
    // Flushed: its root is this one's base from now on. Letting go of it keeps a chain of forks
    // (each forked from the one before) from holding every earlier overlay in memory.
    this.base = p.flushedRoot;
    this.parent = undefined;
    return undefined;
  }

  /**
   * Where a read of `key` is answered: the value from the first overlay down the chain of
   * forks that has it (undefined: deleted there), else the Txn whose base root holds it.
   * One loop, not a call per fork: a read under eight unmade roots would otherwise be eight
   * awaits.
   */
  private locate(key: Uint8Array): Uint8Array | undefined | Txn {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let t: Txn = this;
    for (;;) {
      const v = t.writes.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
      if (t.deleted.length > 0 && t.deletedInBase(key)) return undefined;
      const p = t.unflushedParent;
      if (p === undefined) return t;
      t = p;
    }
  }

  private underEntries(range: Range): AsyncIterable<Entry> {
    return this.unflushedParent?.entries(range) ?? this.tree.entries(this.base, range);
  }

  get dirty(): boolean {
    return this.writes.size > 0 || this.deleted.length > 0;
  }

  private deletedInBase(key: Uint8Array): boolean {
    for (const r of this.deleted) if (compareBytes(key, r.lo) >= 0 && compareBytes(key, r.hi) < 0) return true;
    return false;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const at = this.locate(key);
    return at instanceof Txn ? this.tree.get(at.base, key) : at;
  }

  peek(key: Uint8Array): Uint8Array | undefined | typeof NOT_CACHED {
    const at = this.locate(key);
    return at instanceof Txn ? this.tree.getCached(at.base, key) : at;
  }

  async *entries(range: Range): AsyncGenerator<Entry> {
    // The overlay part of the range, copied so that writes during iteration do not disturb it.
    const over: [Uint8Array, Uint8Array][] = [];
    const low = range.gte ?? range.gt;
    for (const [k, v] of this.writes.entries(low)) {
      if (range.lt !== undefined && compareBytes(k, range.lt) >= 0) break;
      if (inRange(k, range)) over.push([k, v]);
    }
    let i = 0;
    for await (const e of this.underEntries(range)) {
      while (i < over.length && compareBytes(over[i]![0], e.key) < 0) {
        const [k, v] = over[i++]!;
        if (v !== DELETED) yield { key: k, value: v };
      }
      if (i < over.length && compareBytes(over[i]![0], e.key) === 0) {
        const [k, v] = over[i++]!;
        if (v !== DELETED) yield { key: k, value: v };
        continue;
      }
      if (this.deleted.length > 0 && this.deletedInBase(e.key)) continue;
      yield e;
    }
    for (; i < over.length; i++) {
      const [k, v] = over[i]!;
      if (v !== DELETED) yield { key: k, value: v };
    }
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(key, value);
  }

  del(key: Uint8Array): void {
    this.writes.set(key, DELETED);
  }

  /** Deletes every key in [lo, hi). */
  deleteRange(lo: Uint8Array, hi: Uint8Array): void {
    this.writes.deleteRange(lo, hi, false);
    this.deleted.push({ lo, hi });
  }

  /** Applies everything to the tree and returns the new root. */
  async flush(options: { signal?: AbortSignal | undefined } = {}): Promise<Hash> {
    if (this.unflushedParent !== undefined) throw new FsError('EINVAL', 'flush', undefined, 'a forked batch flushes after its parent');
    let root = this.base;
    for (const r of this.deleted) root = await this.tree.deleteRange(root, { gte: r.lo, lt: r.hi }, options);
    const edits: Edit[] = [];
    for (const [key, value] of this.writes.entries()) {
      edits.push(value === DELETED ? { type: 'del', key } : { type: 'put', key, value });
    }
    if (edits.length > 0) root = await this.tree.mutate(root, edits, options);
    this.flushedRoot = root;
    return root;
  }
}

export const keyId = (key: Uint8Array): string => bytesToHex(key);
