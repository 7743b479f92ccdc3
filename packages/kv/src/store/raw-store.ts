// The raw layer beneath a BlobStore: bytes under 32-byte keys, with no rule tying the two.
//
// A plain store keeps `sha256(bytes) -> bytes` and checks that rule on every read. A codec store
// (codec-store.ts) keeps `storeKey(hash) -> encode(bytes)` instead: compressed and/or encrypted
// bytes, under the plain hash or a keyed map of it. It needs a path to the stored bytes that
// does not hash them, and that is this interface. Every store cafs ships implements it beside
// BlobStore, over the same table: MemoryBlobStore, LevelBlobStore, RedisBlobStore.
import type { BlobStoreOperationOptions } from './blob-store.js';

/** Bytes stored under a 32-byte key (which a codec chose; it need not be their hash). */
export interface RawEntry {
  key: Uint8Array;
  bytes: Uint8Array;
}

/**
 * Bytes a codec may add to a blob: a header byte, an inner header byte and a 16-byte
 * authentication tag today; 64 leaves room. A raw store takes values up to
 * `maxBlobSize + STORED_OVERHEAD` bytes.
 */
export const STORED_OVERHEAD = 64;

/** Names of small records kept beside the blobs (`getMeta`): letters, digits, `-`, `_`, `.`. */
const META_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function checkMetaName(name: string): string {
  if (typeof name !== 'string' || !META_NAME.test(name)) throw new TypeError(`bad record name ${JSON.stringify(name)}`);
  return name;
}

export interface RawBlobStore {
  /** The largest *plain* blob this store is configured for; raw values may be STORED_OVERHEAD larger. */
  readonly maxBlobSize: number;
  /** True when `getRaw` hands back the very bytes kept in this process's memory. */
  readonly resident?: boolean;
  /** The stored bytes, unchecked, or undefined. Read-only. */
  getRaw(key: Uint8Array, options?: BlobStoreOperationOptions): Promise<Uint8Array | undefined>;
  /**
   * Stores entries; a key that exists may keep its old bytes (Redis: SET NX) or take the new
   * ones (LevelDB): a codec only writes one meaning under a key, so either is right. The store
   * keeps the given arrays.
   */
  putRaw(entries: readonly RawEntry[], options?: BlobStoreOperationOptions): Promise<void>;
  hasRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<boolean[]>;
  deleteRaw(keys: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<void>;
  /** Every stored key, in byte order. */
  rawKeys(options?: BlobStoreOperationOptions): AsyncIterable<Uint8Array>;
  /**
   * A small named record beside the blobs (the codec record, codec-record.ts), or undefined.
   * Never listed by `rawKeys` or `hashes`.
   */
  getMeta(name: string): Promise<Uint8Array | undefined>;
  /** Writes (or with undefined removes) a named record. */
  setMeta(name: string, bytes: Uint8Array | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Whether `store` also offers the raw layer. */
export function isRawBlobStore(store: unknown): store is RawBlobStore {
  const s = store as Partial<RawBlobStore> | undefined;
  return typeof s?.getRaw === 'function' && typeof s.putRaw === 'function' && typeof s.rawKeys === 'function' && typeof s.getMeta === 'function';
}
