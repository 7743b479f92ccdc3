import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { MemoryLevel } from 'memory-level';
import { Level } from 'level';
import { bytesToHex, compareBytes, equalBytes } from '../bytes.js';
import { BlobNotFoundError, IntegrityError, InvalidArgumentError, KvError, TooLargeError } from '../errors.js';
import { HASH_BYTES, assertHash, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import {
  DEFAULT_MAX_BLOB_SIZE,
  type BlobStore,
  type BlobStoreOperationOptions,
  type BlobStoreOptions,
  type HashedBlob,
} from './blob-store.js';
import { STORED_OVERHEAD, checkMetaName, type RawBlobStore, type RawEntry } from './raw-store.js';

/** Any abstract-level database (memory-level, classic-level, browser-level, ...). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LevelDatabase = AbstractLevel<any, any, any>;

type BlobSublevel = AbstractSublevel<LevelDatabase, unknown, Uint8Array, Uint8Array>;

export interface LevelBlobStoreOptions extends BlobStoreOptions {
  /** Name of the sublevel blobs live under, so the database can hold other tables too (default "blobs"). */
  sublevel?: string | undefined;
  /** Close the database when the store is closed (default true). */
  closeDatabase?: boolean | undefined;
  /**
   * With `verify` on, how many blobs this store remembers as verified (default 65536, 0: every
   * read is hashed). A blob whose bytes matched its hash once in this process is not hashed
   * again on later reads while it is remembered: on-disk corruption that happens after that
   * first read goes unnoticed until the process restarts or `cafs fsck` (which always re-hashes)
   * looks. Blobs that come from elsewhere (remote stores, sync) are verified by their own stores.
   */
  verifiedMemo?: number | undefined;
  /**
   * Read with the database's `getSync` where it has one (default true), while reads are fast:
   * see SLOW_SYNC_READ_MS. On classic-level this costs about a quarter of the CPU of an awaited
   * `get` (no thread-pool round trip per blob).
   */
  syncReads?: boolean | undefined;
}

/**
 * Synchronous reads slower than this (the data was not in memory: a disk) send the next
 * ASYNC_AFTER_SLOW reads to the thread pool, so that the event loop is not held up by disk
 * latency; then synchronous reads are tried again. On tmpfs or from the page cache a 76 KiB
 * chunk takes ~15 µs.
 */
export const SLOW_SYNC_READ_MS = 2;
/** ...when SLOW_READS_TO_SWITCH of SYNC_WINDOW consecutive synchronous reads were slow. */
const SLOW_READS_TO_SWITCH = 8;
const SYNC_WINDOW = 64;
const ASYNC_AFTER_SLOW = 256;

/** Default of LevelBlobStoreOptions.verifiedMemo: 64k hex names (about 10 MB), ~5 GB of 76 KiB chunks. */
export const DEFAULT_VERIFIED_MEMO = 65536;

/**
 * A BlobStore over any abstract-level database; blobs live in their own sublevel. It is also a
 * RawBlobStore over the same sublevel (for codec stores), with its named records in a sublevel
 * of their own (`<sublevel>-meta`).
 */
export class LevelBlobStore implements BlobStore, RawBlobStore {
  readonly db: LevelDatabase;
  readonly maxBlobSize: number;
  readonly resident: boolean = false;
  private readonly blobs: BlobSublevel;
  private readonly meta: AbstractSublevel<LevelDatabase, unknown, string, Uint8Array>;
  private readonly verify: boolean;
  private readonly closeDatabase: boolean;
  /** Hex names of blobs verified by this process (insertion order: the oldest is dropped first). */
  private readonly verified = new Set<string>();
  private readonly verifiedMax: number;
  private readonly syncReads: boolean;
  /** Reads left to await before getSync is tried again (after a slow one). */
  private asyncLeft = 0;
  private syncCount = 0;
  private slowReads = 0;

  constructor(db: LevelDatabase, options: LevelBlobStoreOptions = {}) {
    this.db = db;
    this.maxBlobSize = options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE;
    this.verify = options.verify ?? true;
    this.closeDatabase = options.closeDatabase ?? true;
    this.verifiedMax = Math.max(0, Math.floor(options.verifiedMemo ?? DEFAULT_VERIFIED_MEMO));
    this.syncReads = (options.syncReads ?? true) && (db.supports as { getSync?: boolean }).getSync === true;
    this.blobs = db.sublevel<Uint8Array, Uint8Array>(options.sublevel ?? 'blobs', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    }) as BlobSublevel;
    this.meta = db.sublevel<string, Uint8Array>(`${options.sublevel ?? 'blobs'}-meta`, { keyEncoding: 'utf8', valueEncoding: 'view' }) as AbstractSublevel<
      LevelDatabase,
      unknown,
      string,
      Uint8Array
    >;
  }

  /** Opens (creating if needed) a LevelDB store in `directory`. */
  static async open(directory: string, options: LevelBlobStoreOptions = {}): Promise<LevelBlobStore> {
    // A large write buffer is what lets LevelDB take bulk imports at hundreds of MB/s.
    const db = new Level<Uint8Array, Uint8Array>(directory, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      // classic-level's option; the `level` typings do not list it.
      ...{ writeBufferSize: 64 * 1024 * 1024 },
    });
    await db.open();
    return new LevelBlobStore(db, options);
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    const [hash] = await this.putMany([bytes], options);
    return hash!;
  }

  async putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    const prepared: HashedBlob[] = blobs.map((bytes) => {
      this.checkSize(bytes);
      // Copy: the caller may reuse its buffer, and a memory store would keep the reference.
      return { hash: sha256(bytes), bytes: bytes.slice() };
    });
    await this.putHashed(prepared, options);
    return prepared.map((b) => b.hash);
  }

  async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    if (blobs.length === 0) return;
    for (const b of blobs) {
      assertHash(b.hash);
      this.checkSize(b.bytes);
    }
    if (blobs.length === 1) {
      await this.blobs.put(blobs[0]!.hash, blobs[0]!.bytes);
      return;
    }
    await this.blobs.batch(blobs.map((b) => ({ type: 'put' as const, key: b.hash, value: b.bytes })));
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    assertHash(hash);
    options?.signal?.throwIfAborted();
    const bytes = this.syncReads && this.asyncLeft === 0 && this.blobs.status === 'open' ? this.readSync(hash) : await this.readAsync(hash);
    if (bytes === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    if (this.verify) this.checkOnce(hash, bytes);
    return bytes;
  }

  private readSync(hash: Hash): Uint8Array | undefined {
    const t0 = performance.now();
    const bytes = this.blobs.getSync(hash);
    if (performance.now() - t0 > SLOW_SYNC_READ_MS && ++this.slowReads >= SLOW_READS_TO_SWITCH) {
      // Not a stray preemption (those are ~0.1% of reads on a busy machine): reads hit a disk.
      this.asyncLeft = ASYNC_AFTER_SLOW;
      this.slowReads = this.syncCount = 0;
    } else if (++this.syncCount >= SYNC_WINDOW) {
      this.slowReads = this.syncCount = 0;
    }
    return bytes;
  }

  private readAsync(hash: Hash): Promise<Uint8Array | undefined> {
    if (this.asyncLeft > 0) this.asyncLeft--;
    return this.blobs.get(hash);
  }

  /** checkIntegrity, skipped for a blob this store has verified already (see verifiedMemo). */
  private checkOnce(hash: Hash, bytes: Uint8Array): void {
    if (this.verifiedMax === 0) return checkIntegrity(hash, bytes);
    const id = bytesToHex(hash);
    if (this.verified.has(id)) return;
    checkIntegrity(hash, bytes);
    if (this.verified.size >= this.verifiedMax) this.verified.delete(this.verified.values().next().value!);
    this.verified.add(id);
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return [];
    return this.blobs.hasMany(hashes as Hash[]);
  }

  async delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return;
    for (const h of hashes) this.verified.delete(bytesToHex(h));
    await this.blobs.batch(hashes.map((key) => ({ type: 'del' as const, key })));
  }

  async *hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    for await (const key of this.blobs.keys()) {
      options?.signal?.throwIfAborted();
      if (key.length === HASH_BYTES) yield key;
    }
  }

  // The raw layer (raw-store.ts): the same sublevel, no hashing.

  async getRaw(key: Uint8Array, options?: BlobStoreOperationOptions): Promise<Uint8Array | undefined> {
    assertHash(key, 'key');
    options?.signal?.throwIfAborted();
    return this.syncReads && this.asyncLeft === 0 && this.blobs.status === 'open' ? this.readSync(key) : this.readAsync(key);
  }

  async putRaw(entries: readonly RawEntry[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const e of entries) this.checkRaw(e);
    if (entries.length === 0) return;
    for (const e of entries) this.verified.delete(bytesToHex(e.key));
    if (entries.length === 1) return this.blobs.put(entries[0]!.key, entries[0]!.bytes);
    await this.blobs.batch(entries.map((e) => ({ type: 'put' as const, key: e.key, value: e.bytes })));
  }

  hasRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    return this.has(keys, options);
  }

  deleteRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<void> {
    return this.delete(keys, options);
  }

  rawKeys(options?: BlobStoreOperationOptions): AsyncIterable<Uint8Array> {
    return this.hashes(options);
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.meta.get(checkMetaName(name));
  }

  async setMeta(name: string, bytes: Uint8Array | undefined): Promise<void> {
    checkMetaName(name);
    if (bytes === undefined) await this.meta.del(name);
    else await this.meta.put(name, bytes.slice());
  }

  async close(): Promise<void> {
    if (this.closeDatabase) await this.db.close();
  }

  protected checkRaw(e: RawEntry): void {
    assertHash(e.key, 'key');
    if (!(e.bytes instanceof Uint8Array)) throw new InvalidArgumentError('stored bytes must be a Uint8Array');
    if (e.bytes.length > this.maxBlobSize + STORED_OVERHEAD) throw new TooLargeError('stored blob', e.bytes.length, this.maxBlobSize + STORED_OVERHEAD);
  }

  protected checkSize(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('a blob must be a Uint8Array');
    if (bytes.length > this.maxBlobSize) throw new TooLargeError('blob', bytes.length, this.maxBlobSize);
  }
}

export function checkIntegrity(hash: Hash, bytes: Uint8Array): void {
  const actual = sha256(bytes);
  for (let i = 0; i < HASH_BYTES; i++) {
    if (actual[i] !== hash[i]) throw new IntegrityError(bytesToHex(hash), bytesToHex(actual));
  }
}

/** One blob of a MemoryBlobStore; blobs whose hash prefixes collide form a chain. */
interface MemoryBlob {
  hash: Hash;
  bytes: Uint8Array;
  /** False only for bytes put in place by `replaceMemoryBlob` (a test seam): those are verified. */
  trusted: boolean;
  next: MemoryBlob | undefined;
}

/** The first 30 bits of a hash, big-endian: a small-integer Map key that sorts like the hash. */
function prefixOf(hash: Hash): number {
  return (hash[0]! << 22) | (hash[1]! << 14) | (hash[2]! << 6) | (hash[3]! >>> 2);
}

/**
 * The default store: everything in memory, nothing on disk. Blobs live in a JavaScript Map
 * keyed by a 30-bit hash prefix (collisions chain), so a put costs a Map insert, not a
 * persistent red-black tree insert through abstract-level's batch machinery. `hashes()` sorts a
 * snapshot of the keys. `db` is a memory-level database for other tables beside the blobs (the
 * repository keeps its names there); blobs are not in it.
 */
export class MemoryBlobStore extends LevelBlobStore {
  override readonly resident: boolean = true;
  private readonly table = new Map<number, MemoryBlob>();
  private readonly records = new Map<string, Uint8Array>();
  private readonly verifyReads: boolean;
  private closed = false;

  constructor(options: LevelBlobStoreOptions = {}) {
    super(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' }), options);
    this.verifyReads = options.verify ?? true;
  }

  override async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.checkOpen();
    for (const b of blobs) {
      assertHash(b.hash);
      this.checkSize(b.bytes);
    }
    for (const b of blobs) this.insert(b.hash, b.bytes, true);
  }

  override async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    assertHash(hash);
    options?.signal?.throwIfAborted();
    this.checkOpen();
    const blob = this.find(hash);
    if (blob === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    if (!blob.trusted && this.verifyReads) {
      checkIntegrity(hash, blob.bytes);
      blob.trusted = true;
    }
    return blob.bytes;
  }

  override async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    this.checkOpen();
    return hashes.map((h) => this.find(h) !== undefined);
  }

  override async delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const h of hashes) assertHash(h);
    this.checkOpen();
    for (const h of hashes) {
      const key = prefixOf(h);
      let prev: MemoryBlob | undefined;
      for (let b = this.table.get(key); b !== undefined; prev = b, b = b.next) {
        if (!equalBytes(b.hash, h)) continue;
        if (prev !== undefined) prev.next = b.next;
        else if (b.next !== undefined) this.table.set(key, b.next);
        else this.table.delete(key);
        break;
      }
    }
  }

  override async getRaw(key: Uint8Array, options?: BlobStoreOperationOptions): Promise<Uint8Array | undefined> {
    assertHash(key, 'key');
    options?.signal?.throwIfAborted();
    this.checkOpen();
    return this.find(key)?.bytes;
  }

  override async putRaw(entries: readonly RawEntry[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    this.checkOpen();
    for (const e of entries) this.checkRaw(e);
    // Raw bytes are never hashed by this store: "trusted" only means "not to be checked".
    for (const e of entries) this.insert(e.key, e.bytes, true);
  }

  override async getMeta(name: string): Promise<Uint8Array | undefined> {
    this.checkOpen();
    return this.records.get(checkMetaName(name));
  }

  override async setMeta(name: string, bytes: Uint8Array | undefined): Promise<void> {
    this.checkOpen();
    checkMetaName(name);
    if (bytes === undefined) this.records.delete(name);
    else this.records.set(name, bytes.slice());
  }

  override async *hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    this.checkOpen();
    // A snapshot, as memory-level's iterators give: later puts and deletes do not show.
    const keys = [...this.table.keys()].sort((a, b) => a - b);
    const chain: Hash[] = [];
    for (const key of keys) {
      options?.signal?.throwIfAborted();
      for (let b = this.table.get(key); b !== undefined; b = b.next) chain.push(b.hash);
      if (chain.length > 1) chain.sort(compareBytes);
      for (const h of chain) yield h.slice();
      chain.length = 0;
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    this.table.clear();
    await super.close();
  }

  /** Stores bytes under a hash; `trusted` false makes the next verifying read check them. */
  private insert(hash: Hash, bytes: Uint8Array, trusted: boolean): void {
    const key = prefixOf(hash);
    const head = this.table.get(key);
    for (let b = head; b !== undefined; b = b.next) {
      if (equalBytes(b.hash, hash)) {
        // Same hash, same bytes (for trusted blobs): keep the first copy, as a replace would.
        if (!trusted || !b.trusted) {
          b.bytes = bytes;
          b.trusted = trusted;
        }
        return;
      }
    }
    this.table.set(key, { hash, bytes, trusted, next: head });
  }

  private find(hash: Hash): MemoryBlob | undefined {
    for (let b = this.table.get(prefixOf(hash)); b !== undefined; b = b.next) if (equalBytes(b.hash, hash)) return b;
    return undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw new KvError('ERR_STORE_CLOSED', 'the store is closed');
  }

  /** @internal The test seam behind `replaceMemoryBlob`. */
  static replaceUnchecked(store: MemoryBlobStore, hash: Hash, bytes: Uint8Array): void {
    store.insert(hash, bytes, false);
  }
}

/**
 * Overwrites the bytes a MemoryBlobStore holds under `hash`, behind its back, so that tests can
 * check integrity errors. Not for production use: exported from `@cafs/kv/testing` only.
 */
export function replaceMemoryBlob(store: MemoryBlobStore, hash: Hash, bytes: Uint8Array): void {
  assertHash(hash);
  MemoryBlobStore.replaceUnchecked(store, hash, bytes);
}
