// The write barrier between writers and the garbage collector.
//
// Writers reach the blob store through a GcGuard. The guard records, before the bytes reach the
// store, the hash of every blob put and when (a journal: the hashes of each put call under the
// call's time, in time order; a collection indexes what it needs when it runs, so a put costs
// an array append, not a hex string and a Map insert per blob). A
// collection then never deletes a blob whose latest put is newer than `start - graceMs`, where
// `start` is when the collection began: so a blob written during a collection is never deleted
// by it, and with a grace period neither is one written shortly before (a writer's files put
// just before the collection began and committed after it read the branches).
//
// The journal doubles as the list of blobs written since the previous collection, which is what
// makes incremental collection exact: every stored blob is either reachable from what the
// previous collection retained, or in the journal.
import { bytesToHex, sha256, type BlobStore, type BlobStoreOperationOptions, type Hash, type HashedBlob } from '@cafs/kv';

const clock = (): number => performance.now();

/** The hashes of one put call (log records [from, to)), and when it was made. */
interface JournalSegment {
  t: number;
  from: number;
  to: number;
}

const HASHES_PER_CHUNK = 8192;

/**
 * An append-only log of 32-byte hashes, copied into 256 KiB chunks: no object per hash, and
 * no reference to the caller's buffers (a hash view would keep a whole node slab alive).
 * Records are numbered from the first ever appended; dropping a prefix frees whole chunks.
 */
class HashLog {
  private chunks: Uint8Array[] = [];
  /** Number of the first record of chunks[0]. */
  private base = 0;
  /** Records appended so far (the next record's number). */
  end = 0;

  append(hash: Hash): void {
    const at = this.end - this.base;
    const c = Math.floor(at / HASHES_PER_CHUNK);
    if (c === this.chunks.length) this.chunks.push(new Uint8Array(32 * HASHES_PER_CHUNK));
    this.chunks[c]!.set(hash, 32 * (at % HASHES_PER_CHUNK));
    this.end++;
  }

  /** Record `i` as a view (valid until the prefix holding it is dropped). */
  at(i: number): Hash {
    const at = i - this.base;
    const chunk = this.chunks[Math.floor(at / HASHES_PER_CHUNK)]!;
    const o = 32 * (at % HASHES_PER_CHUNK);
    return chunk.subarray(o, o + 32);
  }

  /** Forgets records before `first` (whole chunks only). */
  dropBefore(first: number): void {
    const whole = Math.floor((first - this.base) / HASHES_PER_CHUNK);
    if (whole <= 0) return;
    this.chunks.splice(0, whole);
    this.base += whole * HASHES_PER_CHUNK;
  }
}

/** Journal size (hashes, repeats included) from which repeats are folded away. */
const COMPACT_FROM = 1 << 20;

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
  /**
   * The puts through this guard since the last collection examined them: each call's hashes
   * under the call's time, oldest first. A hash put again appears again (the latest counts).
   */
  private journal: JournalSegment[] = [];
  private log = new HashLog();
  /** Hashes in the journal, repeats included. */
  private recorded = 0;
  /** `recorded` after the last compaction: the journal is compacted when it doubles past it. */
  private compactedSize = 0;
  /** Hex of every hash put at or after `protectFrom`, built as a collection asks (see isProtected). */
  private recent: Set<string> | undefined;
  /** Journal segments already in `recent`. */
  private recentUpTo = 0;
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

  private readonly compactFrom: number;

  /** `compactFrom`: journal size (hashes, repeats included) from which repeats are folded away. */
  constructor(inner: BlobStore, options: { compactFrom?: number } = {}) {
    this.inner = inner;
    this.compactFrom = options.compactFrom ?? COMPACT_FROM;
  }

  get maxBlobSize(): number {
    return this.inner.maxBlobSize;
  }

  get resident(): boolean | undefined {
    return this.inner.resident;
  }

  /** Hashes in the journal (puts since the last collection examined them; a repeated put counts again). */
  get journalSize(): number {
    return this.recorded;
  }

  get running(): boolean {
    return this.collecting;
  }

  private record(blobs: readonly HashedBlob[]): void {
    if (blobs.length === 0) return;
    const from = this.log.end;
    for (const b of blobs) this.log.append(b.hash);
    this.journal.push({ t: clock(), from, to: this.log.end });
    this.recorded += blobs.length;
    if (!this.collecting && this.recorded > Math.max(this.compactFrom, 2 * this.compactedSize)) this.compact();
  }

  /** Each hash of a segment, oldest segment first. */
  private *entries(segments: readonly JournalSegment[]): Generator<{ hash: Hash; t: number }> {
    for (const seg of segments) for (let i = seg.from; i < seg.to; i++) yield { hash: this.log.at(i), t: seg.t };
  }

  /** Keeps one entry per hash (its latest put), so that puts of the same blobs do not grow the journal. */
  private compact(): void {
    const latest = new Map<string, { hash: Hash; t: number }>();
    for (const e of this.entries(this.journal)) latest.set(bytesToHex(e.hash), { hash: e.hash.slice(), t: e.t });
    const byTime = [...latest.values()].sort((a, b) => a.t - b.t);
    this.log = new HashLog();
    this.journal = [];
    for (const e of byTime) {
      const last = this.journal[this.journal.length - 1];
      this.log.append(e.hash);
      if (last !== undefined && last.t === e.t) last.to = this.log.end;
      else this.journal.push({ t: e.t, from: this.log.end - 1, to: this.log.end });
    }
    this.recorded = this.compactedSize = latest.size;
  }

  private async barrier(): Promise<void> {
    while (this.deleting !== undefined) await this.deleting.catch(() => undefined);
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    options?.signal?.throwIfAborted();
    if (!(bytes instanceof Uint8Array)) throw new TypeError('a blob must be a Uint8Array');
    // One blob (a commit per change of a mount): no arrays of putMany's.
    const hash = sha256(bytes);
    await this.putHashed([{ hash, bytes: bytes.slice() }], options);
    return hash;
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

  putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    // Not async (one promise less per put): a bad argument still rejects, never throws.
    try {
      this.record(blobs);
    } catch (err) {
      return Promise.reject(err);
    }
    // Only a running delete is waited for (no extra turn per put otherwise).
    if (this.deleting !== undefined) return this.barrier().then(() => this.inner.putHashed(blobs, options));
    return this.inner.putHashed(blobs, options);
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
    const seen = new Set<string>();
    const old: Hash[] = [];
    for (const e of this.entries(this.journal)) {
      if (e.t >= this.protectFrom) break;
      const hex = bytesToHex(e.hash);
      if (!seen.has(hex)) {
        seen.add(hex);
        old.push(e.hash.slice());
      }
    }
    return { start, protectFrom: this.protectFrom, old };
  }

  /** Whether the running collection must spare this blob: it was put at or after `protectFrom`. */
  isProtected(hex: string): boolean {
    // Index the segments put since the last question (the journal only grows during a collection).
    const recent = (this.recent ??= new Set());
    for (; this.recentUpTo < this.journal.length; this.recentUpTo++) {
      const seg = this.journal[this.recentUpTo]!;
      if (seg.t < this.protectFrom) continue;
      for (let i = seg.from; i < seg.to; i++) recent.add(bytesToHex(this.log.at(i)));
    }
    return recent.has(hex);
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
    // `examined` is begin()'s `old`: every hash of the segments older than protectFrom (a hash
    // also put later stays in the journal through its later segment).
    void examined;
    const keep = this.journal.findIndex((seg) => seg.t >= this.protectFrom);
    this.journal = keep < 0 ? [] : this.journal.slice(keep);
    this.log.dropBefore(this.journal[0]?.from ?? this.log.end);
    this.recorded = this.journal.reduce((n, seg) => n + seg.to - seg.from, 0);
    this.compactedSize = Math.min(this.compactedSize, this.recorded);
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
    this.recent = undefined;
    this.recentUpTo = 0;
  }
}

/** Wraps `store` so that collections spare what is written through it (see GcGuard). */
export function guardStore(store: BlobStore): GcGuard {
  return store instanceof GcGuard ? store : new GcGuard(store);
}

