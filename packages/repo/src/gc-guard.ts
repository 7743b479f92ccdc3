// The write barrier between writers and the garbage collector.
//
// Writers reach the blob store through a GcGuard. The guard records, before the bytes reach the
// store, the hash of every blob put and when (a journal, hex -> time of the latest put). A
// collection then never deletes a blob whose latest put is newer than `start - graceMs`, where
// `start` is when the collection began: so a blob written during a collection is never deleted
// by it, and with a grace period neither is one written shortly before (a writer's files put
// just before the collection began and committed after it read the branches).
//
// The journal doubles as the list of blobs written since the previous collection, which is what
// makes incremental collection exact: every stored blob is either reachable from what the
// previous collection retained, or in the journal.
import { bytesToHex, parseHash, sha256, type BlobStore, type BlobStoreOperationOptions, type Hash, type HashedBlob } from '@cafs/kv';

const clock = (): number => performance.now();

/** What a collection gets from the guard when it begins. */
export interface GuardEpoch {
  /** performance.now() when the collection began. */
  start: number;
  /** Blobs whose latest put is older than this are not protected. */
  protectFrom: number;
  /** Journal entries older than `protectFrom`: the blobs written since the last collection that this one may examine. */
  old: Hash[];
}

/**
 * A BlobStore for writers that records what they write, so that a concurrent garbage
 * collection spares it. Construct the Repo with it: `new Repo({ store: guardStore(inner), names })`.
 *
 * The rule (see docs in gc.ts): a collection deletes no blob put through the guard after
 * `start - graceMs`. Writers must therefore make every root they build reachable (commit it
 * to a branch, tag or pin it) within `graceMs` of writing its blobs, and build only on roots
 * that are retained (a branch head, a tag, a retained commit or a pin). Writers must not skip a
 * put because `has` said the blob exists: put it again (the guard then protects it).
 * Every writer of the store must go through the same guard.
 */
export class GcGuard implements BlobStore {
  readonly inner: BlobStore;
  /** Hex hash -> time of the latest put through this guard, since the last collection examined it. */
  private readonly journal = new Map<string, number>();
  /** Roots held in memory (e.g. a Drive's uncommitted working root): retained like pins. */
  private readonly held = new Map<string, { hash: Hash; n: number }>();
  /** A delete the collector is running: puts wait for it, so that a put is never undone. */
  private deleting: Promise<void> | undefined;
  private protectFrom = Infinity;
  private collecting = false;
  /**
   * Hex hash of the gc state blob the journal is relative to: the journal holds every blob
   * written since the collection that wrote that state began (undefined: unknown, the next
   * collection must be full).
   */
  base: string | undefined;

  constructor(inner: BlobStore) {
    this.inner = inner;
  }

  get maxBlobSize(): number {
    return this.inner.maxBlobSize;
  }

  get resident(): boolean | undefined {
    return this.inner.resident;
  }

  /** Number of blobs in the journal (written since the last collection examined them). */
  get journalSize(): number {
    return this.journal.size;
  }

  get running(): boolean {
    return this.collecting;
  }

  private record(hashes: readonly Hash[]): void {
    const t = clock();
    for (const h of hashes) this.journal.set(bytesToHex(h), t);
  }

  private async barrier(): Promise<void> {
    while (this.deleting !== undefined) await this.deleting.catch(() => undefined);
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    const [hash] = await this.putMany([bytes], options);
    return hash!;
  }

  async putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    options?.signal?.throwIfAborted();
    // Hash here (not in the inner store) so the journal has the hash before the bytes land.
    const prepared: HashedBlob[] = blobs.map((bytes) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('a blob must be a Uint8Array');
      return { hash: sha256(bytes), bytes: bytes.slice() };
    });
    await this.putHashed(prepared, options);
    return prepared.map((b) => b.hash);
  }

  async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    this.record(blobs.map((b) => b.hash));
    await this.barrier();
    await this.inner.putHashed(blobs, options);
  }

  get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    return this.inner.get(hash, options);
  }

  has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    return this.inner.has(hashes, options);
  }

  /** Deletes through the guard are the caller's business: they are not journaled. */
  delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    return this.inner.delete(hashes, options);
  }

  hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    return this.inner.hashes(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Keeps `root` (a filesystem root or a commit) through collections, like a pin but in memory
   * only (nothing is written): for a writer's working root that is not committed yet. Returns
   * the release function; holds are counted.
   */
  hold(root: Hash): () => void {
    const id = bytesToHex(root);
    const h = this.held.get(id);
    if (h !== undefined) h.n++;
    else this.held.set(id, { hash: root.slice(), n: 1 });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const e = this.held.get(id);
      if (e !== undefined && --e.n === 0) this.held.delete(id);
    };
  }

  /** The roots held now. */
  heldRoots(): Hash[] {
    return [...this.held.values()].map((h) => h.hash);
  }

  // ---- the collector's side ----

  /** Starts a collection: blobs put from `start - graceMs` on are protected until `end`/`abort`. */
  begin(graceMs: number): GuardEpoch {
    if (this.collecting) throw Object.assign(new Error('a garbage collection is already running on this store'), { code: 'ERR_GC_RUNNING' });
    this.collecting = true;
    const start = clock();
    this.protectFrom = start - Math.max(0, graceMs);
    const old: Hash[] = [];
    for (const [hex, t] of this.journal) if (t < this.protectFrom) old.push(parseHash(hex));
    return { start, protectFrom: this.protectFrom, old };
  }

  /** Whether the running collection must spare this blob. */
  isProtected(hex: string): boolean {
    const t = this.journal.get(hex);
    return t !== undefined && t >= this.protectFrom;
  }

  /**
   * Deletes the blobs that are not protected, atomically with respect to puts: the protection
   * check and the start of the delete happen with no put in between, and puts issued while the
   * delete runs wait for it. Returns the hashes deleted.
   */
  async sweep(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    await this.barrier();
    const doomed = hashes.filter((h) => !this.isProtected(bytesToHex(h)));
    if (doomed.length === 0) return doomed;
    const run = this.inner.delete(doomed, options);
    this.deleting = run;
    try {
      await run;
    } finally {
      if (this.deleting === run) this.deleting = undefined;
    }
    return doomed;
  }

  /** Ends a collection that examined `examined` (journal entries it may now forget) and wrote state `base`. */
  end(examined: readonly Hash[], base: string | undefined): void {
    for (const h of examined) {
      const hex = bytesToHex(h);
      const t = this.journal.get(hex);
      if (t !== undefined && t < this.protectFrom) this.journal.delete(hex);
    }
    this.base = base;
    this.finish();
  }

  /** Ends a collection that changed nothing the journal depends on (a dry run). */
  release(): void {
    this.finish();
  }

  /** Ends a failed collection: the next one must be full. */
  abort(): void {
    this.base = undefined;
    this.finish();
  }

  private finish(): void {
    this.collecting = false;
    this.protectFrom = Infinity;
  }
}

/** Wraps `store` so that collections spare what is written through it (see GcGuard). */
export function guardStore(store: BlobStore): GcGuard {
  return store instanceof GcGuard ? store : new GcGuard(store);
}

