// A BlobStore that compresses and/or encrypts every blob on its way into a raw store
// (raw-store.ts), chosen per store and recorded in it (the "codec" record). Hashes always name
// the plain bytes, so trees, roots, diffs and sync are the same as over a plain store.
import { bytesToHex, compareBytes } from '../bytes.js';
import { BlobNotFoundError, InvalidArgumentError, TooLargeError } from '../errors.js';
import { assertHash, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import type { BlobStore, BlobStoreOperationOptions, HashedBlob } from './blob-store.js';
import {
  DEFAULT_ZSTD_LEVEL,
  checkZstdLevel,
  decodeStored,
  deriveSealKeys,
  encodeStored,
  hashesOfStoreKeys,
  storeKeyOf,
  storedShape,
  type SealKeys,
} from './codec.js';
import { BadKeyError, CodecMismatchError, KeyRequiredError } from './codec-errors.js';
import { readCodecRecord, writeCodecRecord, type CodecRecord } from './codec-record.js';
import type { RawBlobStore, RawEntry } from './raw-store.js';
import { zstd } from './zstd.js';

export interface CodecSettings {
  /** zstd level for writes; undefined: blobs are written raw (reads decode every form). */
  level?: number | undefined;
  /** Seal blobs with these keys (deriveSealKeys). */
  keys?: SealKeys | undefined;
  /** Check decoded bytes against their hash (default true; sealed blobs are authenticated regardless). */
  verify?: boolean | undefined;
}

/** What `stats()` counts: the logical (plain) and stored bytes of every blob. */
export interface CodecStats {
  blobs: number;
  /** Sum of the blobs' plain sizes: what a plain store would hold. */
  logicalBytes: number;
  /** Sum of the stored values' sizes (headers, frames, tags): what the raw store holds. */
  storedBytes: number;
  /** Blobs stored zstd-compressed; the others are raw (compression would not have saved 1/32). */
  compressedBlobs: number;
}

/**
 * A codec over a raw store. Construct it directly with settings, or (recommended) through
 * openCodecStore, which reads and checks the store's codec record.
 */
export class CodecBlobStore implements BlobStore {
  readonly raw: RawBlobStore;
  readonly maxBlobSize: number;
  /** Decoded blobs are fresh arrays: caches above count them. */
  readonly resident = false;
  readonly level: number | undefined;
  readonly encrypted: boolean;
  private readonly keys: SealKeys | undefined;
  private readonly verify: boolean;

  constructor(raw: RawBlobStore, settings: CodecSettings = {}) {
    this.raw = raw;
    this.maxBlobSize = raw.maxBlobSize;
    this.level = settings.level === undefined ? undefined : checkZstdLevel(settings.level);
    this.keys = settings.keys;
    this.encrypted = settings.keys !== undefined;
    this.verify = settings.verify ?? true;
  }

  /** "zstd:3+sealed", "sealed", "zstd:3", "raw": what this store writes. */
  get description(): string {
    const parts = [this.level === undefined ? undefined : `zstd:${this.level}`, this.encrypted ? 'sealed' : undefined].filter((x) => x !== undefined);
    return parts.length === 0 ? 'raw' : parts.join('+');
  }

  /** The raw key a blob is stored under. */
  storeKey(hash: Hash): Uint8Array {
    return this.keys === undefined ? hash : storeKeyOf(this.keys, hash);
  }

  /** The stored form of a blob (what `putHashed` writes for it). */
  encode(hash: Hash, bytes: Uint8Array): Uint8Array {
    return encodeStored(hash, bytes, { level: this.level, keys: this.keys });
  }

  async put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash> {
    const [hash] = await this.putMany([bytes], options);
    return hash!;
  }

  async putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]> {
    options?.signal?.throwIfAborted();
    const hashed = blobs.map((bytes) => {
      this.checkSize(bytes);
      return { hash: sha256(bytes), bytes };
    });
    await this.putHashed(hashed, options);
    return hashed.map((b) => b.hash);
  }

  async putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    for (const b of blobs) {
      assertHash(b.hash);
      this.checkSize(b.bytes);
    }
    if (blobs.length === 0) return;
    // Encoded afresh: the stored arrays are the codec's own (the caller's are not kept).
    const entries: RawEntry[] = blobs.map((b) => ({ key: this.storeKey(b.hash), bytes: this.encode(b.hash, b.bytes) }));
    await this.raw.putRaw(entries, options);
  }

  async get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array> {
    assertHash(hash);
    options?.signal?.throwIfAborted();
    const stored = await this.raw.getRaw(this.storeKey(hash), options);
    if (stored === undefined) throw new BlobNotFoundError(bytesToHex(hash));
    return decodeStored(hash, stored, { keys: this.keys, maxBlobSize: this.maxBlobSize, verify: this.verify });
  }

  async has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]> {
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return [];
    return this.raw.hasRaw(hashes.map((h) => this.storeKey(h)), options);
  }

  async delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void> {
    for (const h of hashes) assertHash(h);
    if (hashes.length === 0) return;
    await this.raw.deleteRaw(hashes.map((h) => this.storeKey(h)), options);
  }

  /**
   * Every hash in byte order. Unsealed: the raw keys are the hashes, streamed. Sealed: every
   * store key is mapped back (AES-256 decryption of the keys alone, in batches; no blob is
   * read), and the hashes are sorted in memory (32 bytes each), as MemoryBlobStore does.
   */
  async *hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash> {
    if (this.keys === undefined) {
      yield* this.raw.rawKeys(options);
      return;
    }
    const out: Hash[] = [];
    let batch: Uint8Array[] = [];
    for await (const k of this.raw.rawKeys(options)) {
      batch.push(k);
      if (batch.length === 4096) {
        out.push(...hashesOfStoreKeys(this.keys, batch));
        batch = [];
      }
    }
    if (batch.length > 0) out.push(...hashesOfStoreKeys(this.keys, batch));
    out.sort(compareBytes);
    for (const h of out) {
      options?.signal?.throwIfAborted();
      yield h;
    }
  }

  /**
   * Logical and stored bytes of every blob: one pass over the raw store, reading each stored
   * value (sealed ones are decrypted and authenticated; zstd frames are not decompressed, their
   * headers declare the size).
   */
  async stats(options?: BlobStoreOperationOptions): Promise<CodecStats> {
    const stats: CodecStats = { blobs: 0, logicalBytes: 0, storedBytes: 0, compressedBlobs: 0 };
    const add = async (storeKeys: Uint8Array[]): Promise<void> => {
      const hashes = this.keys === undefined ? storeKeys : hashesOfStoreKeys(this.keys, storeKeys);
      const values = await Promise.all(storeKeys.map((k) => this.raw.getRaw(k, options)));
      values.forEach((v, i) => {
        if (v === undefined) return; // deleted meanwhile
        const shape = storedShape(hashes[i]!, v, this.keys);
        stats.blobs++;
        stats.storedBytes += v.length;
        stats.logicalBytes += shape.plainBytes;
        if (shape.form === 'zstd') stats.compressedBlobs++;
      });
    };
    let batch: Uint8Array[] = [];
    for await (const k of this.raw.rawKeys(options)) {
      batch.push(k);
      if (batch.length === 256) {
        await add(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await add(batch);
    return stats;
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  private checkSize(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('a blob must be a Uint8Array');
    if (bytes.length > this.maxBlobSize) throw new TooLargeError('blob', bytes.length, this.maxBlobSize);
  }
}

/** How to open a store: codecs for a new one, the secret for a sealed one. */
export interface CodecOpenOptions {
  /**
   * Compress with zstd. On a store without a codec record that holds no blob, this creates the
   * record; on a compressed store, `level` only changes how new blobs are written. A plain store
   * with blobs cannot take a codec (CodecMismatchError): fetch into a new one instead.
   */
  compress?: { level?: number | undefined } | undefined;
  /** Encrypt (creating the record as for `compress`); needs `secret`. */
  encrypt?: boolean | undefined;
  /** The secret of a sealed store (at least 16 bytes). Ignored by a store that is not sealed. */
  secret?: Uint8Array | undefined;
  /** See CodecSettings.verify. */
  verify?: boolean | undefined;
}

/**
 * Opens `raw` with the codecs its record names, creating the record when codecs are asked for
 * and the store is empty. Returns `raw` itself for a plain store (no record, none asked for).
 * A sealed store needs its secret: KeyRequiredError without one, BadKeyError for another.
 */
export async function openCodecStore<S extends RawBlobStore & BlobStore>(raw: S, options: CodecOpenOptions = {}): Promise<S | CodecBlobStore> {
  const wanted = options.compress !== undefined || options.encrypt === true;
  let record = await readCodecRecord(raw);
  if (record === undefined) {
    if (!wanted) return raw;
    for await (const _ of raw.rawKeys()) {
      throw new CodecMismatchError('this store holds blobs stored without a codec: codecs are chosen when a store is created (fetch into a new one instead)');
    }
    if (options.encrypt === true && options.secret === undefined) throw new KeyRequiredError('encryption needs a secret (a key file, or CAFS_KEY)');
    const level = options.compress === undefined ? undefined : checkZstdLevel(options.compress.level ?? DEFAULT_ZSTD_LEVEL);
    if (level !== undefined && zstd().compress === undefined) throw new CodecMismatchError(`zstd compression needs a zstd encoder, and only ${zstd().name} (a decoder) loaded here`);
    record = {
      compress: level === undefined ? undefined : { codec: 'zstd', level },
      encrypt: options.encrypt === true ? { scheme: 'cafs-seal-v1', check: bytesToHex(deriveSealKeys(options.secret!).check) } : undefined,
    };
    await writeCodecRecord(raw, record);
  } else {
    if (options.compress !== undefined && record.compress === undefined) throw new CodecMismatchError('this store was created without compression: codecs are chosen when a store is created');
    if (options.encrypt === true && record.encrypt === undefined) throw new CodecMismatchError('this store was created without encryption: codecs are chosen when a store is created');
  }
  return new CodecBlobStore(raw, settingsOf(record, options));
}

function settingsOf(record: CodecRecord, options: CodecOpenOptions): CodecSettings {
  let keys: SealKeys | undefined;
  if (record.encrypt !== undefined) {
    if (options.secret === undefined) throw new KeyRequiredError();
    keys = deriveSealKeys(options.secret);
    if (bytesToHex(keys.check) !== record.encrypt.check) throw new BadKeyError();
  }
  const level = record.compress === undefined ? undefined : options.compress?.level !== undefined ? checkZstdLevel(options.compress.level) : record.compress.level;
  // Without an encoder (no native zstd here) blobs are written raw; every form still reads.
  return { level: level !== undefined && zstd().compress === undefined ? undefined : level, keys, verify: options.verify };
}

/** The codecs a store was created with, or undefined for a plain store. */
export async function storeCodecs(raw: RawBlobStore): Promise<CodecRecord | undefined> {
  return readCodecRecord(raw);
}
