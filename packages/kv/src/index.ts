export * from './errors.js';
export { compareBytes, equalBytes, successor, bytesToHex, utf8, fromUtf8 } from './bytes.js';
export { sha256, sha256Hex, setSha256, portableSha256, type Sha256 } from './sha256.js';
export { cborHeadLength, writeCborHead } from './cbor-head.js';
export { HASH_BYTES, hashToHex, parseHash, isHash, type Hash } from './hash.js';
export * from './store/blob-store.js';
export { LevelBlobStore, MemoryBlobStore, type LevelBlobStoreOptions, type LevelDatabase } from './store/level-blob-store.js';
export { STORED_OVERHEAD, isRawBlobStore, type RawBlobStore, type RawEntry } from './store/raw-store.js';
export { CodecBlobStore, openCodecStore, storeCodecs, type CodecOpenOptions, type CodecSettings, type CodecStats } from './store/codec-store.js';
export { storeStats, type StoreStats } from './store/store-stats.js';
export { CODEC_RECORD, type CodecRecord } from './store/codec-record.js';
export {
  STORED_RAW,
  STORED_ZSTD,
  STORED_SEALED,
  DEFAULT_ZSTD_LEVEL,
  MIN_SECRET_BYTES,
  checkZstdLevel,
  deriveSealKeys,
  storeKeyOf,
  encodeStored,
  decodeStored,
  type SealKeys,
} from './store/codec.js';
export { BadKeyError, KeyRequiredError, CodecMismatchError, UndecodableBlobError } from './store/codec-errors.js';
export { zstd, setZstd, portableZstd, zstdContentSize, type ZstdImplementation } from './store/zstd.js';
export { ciphers, setCiphers, portableCiphers, type CipherSuite } from './store/cipher.js';
export { Tree, EMPTY_ROOT, NOT_CACHED, normalizeEdits, type TreeOptions, type IterateOptions, type MutateOptions, type DiffOptions } from './tree/tree.js';
export type { Entry, Edit, KeyRange } from './tree/entry.js';
export type { DiffEntry, ChangedNode } from './tree/diff.js';
export { Cursor } from './tree/cursor.js';
export { Builder } from './tree/builder.js';
export { RootNotFoundError, DEFAULT_CACHE_BYTES, type NodeStoreStats } from './tree/node-store.js';
export {
  TARGET_NODE_BYTES,
  MAX_NODE_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  BOUNDARY_ENTRY_ALLOWANCE,
  isBoundary,
  boundaryThreshold,
  entryWeight,
  boundarySeed,
} from './tree/format.js';
export { murmur3 } from './tree/murmur3.js';
export { TreeNode, decodeNode, buildNode } from './tree/node.js';
