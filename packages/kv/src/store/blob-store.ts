import type { Hash } from '../hash.js';

export interface BlobStoreOperationOptions {
  signal?: AbortSignal | undefined;
}

/** A blob whose hash the caller has already computed with this package's `sha256`. */
export interface HashedBlob {
  hash: Hash;
  bytes: Uint8Array;
}

/**
 * A content-addressed blob store: every blob is stored under the SHA-256 of its bytes.
 * Async and batch-friendly so that remote stores fit the same interface.
 * Bytes handed back by `get` are read-only views: do not modify them.
 */
export interface BlobStore {
  /** The largest blob `put` accepts, in bytes. */
  readonly maxBlobSize: number;
  /**
   * True when `get` hands back the very bytes the store keeps in this process's memory (no
   * copy): caches above the store then need not count those bytes again.
   */
  readonly resident?: boolean;
  /** Stores `bytes` under its hash and returns the hash; storing the same bytes again is a no-op. */
  put(bytes: Uint8Array, options?: BlobStoreOperationOptions): Promise<Hash>;
  /** `put` for many blobs in one round trip; hashes come back in input order. */
  putMany(blobs: readonly Uint8Array[], options?: BlobStoreOperationOptions): Promise<Hash[]>;
  /**
   * Stores blobs the caller has hashed already (the tree hashes every node it writes anyway).
   * The store keeps the given arrays: the caller must not modify them afterwards.
   */
  putHashed(blobs: readonly HashedBlob[], options?: BlobStoreOperationOptions): Promise<void>;
  /** The blob's bytes; BlobNotFoundError if absent, IntegrityError if they do not match the hash. */
  get(hash: Hash, options?: BlobStoreOperationOptions): Promise<Uint8Array>;
  /** For each hash, whether the store holds it. */
  has(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<boolean[]>;
  /** Removes these blobs; absent ones are ignored. */
  delete(hashes: readonly Hash[], options?: BlobStoreOperationOptions): Promise<void>;
  /** Every stored hash, in byte order (for garbage collection). */
  hashes(options?: BlobStoreOperationOptions): AsyncIterable<Hash>;
  close(): Promise<void>;
}

/** Options every store takes. */
export interface BlobStoreOptions {
  /** Check every blob read against its hash (default true). */
  verify?: boolean | undefined;
  /** The largest blob accepted (default DEFAULT_MAX_BLOB_SIZE). */
  maxBlobSize?: number | undefined;
}

/** 4 MiB: well above the largest tree node and file chunk cafs writes. */
export const DEFAULT_MAX_BLOB_SIZE = 4 * 1024 * 1024;
