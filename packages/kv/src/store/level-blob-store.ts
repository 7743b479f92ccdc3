import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { MemoryLevel } from 'memory-level';
import { Level } from 'level';
import { bytesToHex } from '../bytes.js';
import { BlobNotFoundError, IntegrityError, InvalidArgumentError, TooLargeError } from '../errors.js';
import { HASH_BYTES, assertHash, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import {
  DEFAULT_MAX_BLOB_SIZE,
  type BlobStore,
  type BlobStoreOperationOptions,
  type BlobStoreOptions,
  type HashedBlob,
} from './blob-store.js';

/** Any abstract-level database (memory-level, classic-level, browser-level, ...). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LevelDatabase = AbstractLevel<any, any, any>;

type BlobSublevel = AbstractSublevel<LevelDatabase, unknown, Uint8Array, Uint8Array>;

export interface LevelBlobStoreOptions extends BlobStoreOptions {
  /** Name of the sublevel blobs live under, so the database can hold other tables too (default "blobs"). */
  sublevel?: string | undefined;
  /** Close the database when the store is closed (default true). */
  closeDatabase?: boolean | undefined;
}

/** A BlobStore over any abstract-level database; blobs live in their own sublevel. */
export class LevelBlobStore implements BlobStore {
  readonly db: LevelDatabase;
  readonly maxBlobSize: number;
  readonly resident: boolean = false;
  private readonly blobs: BlobSublevel;
  private readonly verify: boolean;
  private readonly closeDatabase: boolean;
  /**
   * Arrays known to hold the bytes of their key: those a resident store was handed by put (it
   * hashed them) or has verified. memory-level hands back the very array it keeps, so these
   * need no second hash; a value replaced behind the store's back is another array and is checked.
   */
  private readonly known = new WeakSet<Uint8Array>();

  constructor(db: LevelDatabase, options: LevelBlobStoreOptions = {}) {
    this.db = db;
    this.maxBlobSize = options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE;
    this.verify = options.verify ?? true;
    this.closeDatabase = options.closeDatabase ?? true;
    this.blobs = db.sublevel<Uint8Array, Uint8Array>(options.sublevel ?? 'blobs', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    }) as BlobSublevel;
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
    if (this.resident) for (const b of blobs) this.known.add(b.bytes);
    if (blobs.length === 1) {
      await this.blobs.put(blobs[0]!.hash, blobs[0]!.bytes);
      return;
    }
    await this.blobs.batch(blobs.map((b) => ({ type: 'put' as const, key: b.hash, value: b.bytes })));
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    assertHash(hash);
    options?.signal?.throwIfAborted();
    const bytes = await this.blobs.get(hash);
    if (bytes === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    if (this.verify && !this.known.has(bytes)) {
      checkIntegrity(hash, bytes);
      if (this.resident) this.known.add(bytes);
    }
    return bytes;
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
    await this.blobs.batch(hashes.map((key) => ({ type: 'del' as const, key })));
  }

  async *hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    for await (const key of this.blobs.keys()) {
      options?.signal?.throwIfAborted();
      if (key.length === HASH_BYTES) yield key;
    }
  }

  async close(): Promise<void> {
    if (this.closeDatabase) await this.db.close();
  }

  private checkSize(bytes: Uint8Array): void {
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

/** The default store: everything in memory (memory-level), nothing on disk. */
export class MemoryBlobStore extends LevelBlobStore {
  override readonly resident: boolean = true;

  constructor(options: LevelBlobStoreOptions = {}) {
    super(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' }), options);
  }
}
