// The stored-blob format (docs/format.md, "Stored-blob codecs"): how a codec store turns a
// blob into the bytes it keeps, and back. A blob's hash always names its plain bytes; only the
// stored form changes.
//
//   0x00 || blob                      raw
//   0x01 || zstd frame of the blob    compressed (the frame header declares the blob's size)
//   0x02 || ChaCha20-Poly1305(k_h, nonce 0, aad 0x02, inner) || tag     sealed; inner is a 0x00 or 0x01 form
//
// Sealed blobs are stored under storeKey(h) = AES-256(k_map, h[0..16]) || AES-256(k_map, h[16..32])
// with k_h = HMAC-SHA256(k_blob, h); see deriveSealKeys for the keys.
import { bytesToHex } from '../bytes.js';
import { IntegrityError, InvalidArgumentError } from '../errors.js';
import { HASH_BYTES, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import { ciphers, hkdfSha256 } from './cipher.js';
import { UndecodableBlobError } from './codec-errors.js';
import { zstd, zstdContentSize } from './zstd.js';

export const STORED_RAW = 0x00;
export const STORED_ZSTD = 0x01;
export const STORED_SEALED = 0x02;

const SEALED_HEADER = Uint8Array.of(STORED_SEALED);
const RAW_HEADER = Uint8Array.of(STORED_RAW);
const ZSTD_HEADER = Uint8Array.of(STORED_ZSTD);
export const TAG_BYTES = 16;

/** zstd levels accepted: zstd's own range (negative levels are its fast modes). */
export const MIN_ZSTD_LEVEL = -7;
export const MAX_ZSTD_LEVEL = 22;
export const DEFAULT_ZSTD_LEVEL = 3;

export function checkZstdLevel(level: number): number {
  if (!(Number.isInteger(level) && level >= MIN_ZSTD_LEVEL && level <= MAX_ZSTD_LEVEL && level !== 0)) {
    throw new InvalidArgumentError(`zstd level must be an integer from ${MIN_ZSTD_LEVEL} to ${MAX_ZSTD_LEVEL}, not 0 (got ${level})`);
  }
  return level;
}

/** The keys of a sealing codec, all derived from one secret. */
export interface SealKeys {
  /** AES-256 key of the store-key map. */
  readonly map: Uint8Array;
  /** HMAC key giving each blob's own ChaCha20-Poly1305 key. */
  readonly blob: Uint8Array;
  /** 16 bytes recorded in the store: a wrong secret is told apart before any blob is read. */
  readonly check: Uint8Array;
}

/** The shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;
/** scrypt cost: 2^15 x 8 x 128 bytes = 32 MiB and ~0.1 s per derivation; one per store opened. */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;
const enc = new TextEncoder();
const SALT = enc.encode('cafs-codec-v1');

const derived = new Map<string, SealKeys>();

/**
 * master = scrypt(secret, "cafs-codec-v1", N=2^15, r=8, p=1, 32 bytes); then HKDF-SHA256 with an
 * empty salt and the infos "cafs store keys v1" (map), "cafs blob keys v1" (blob), "cafs key check
 * v1" (check, 16 bytes). The same secret gives the same keys everywhere (convergence across
 * repositories sharing it). The last few derivations are remembered by a hash of the secret.
 */
export function deriveSealKeys(secret: Uint8Array): SealKeys {
  if (!(secret instanceof Uint8Array)) throw new InvalidArgumentError('the secret must be bytes');
  if (secret.length < MIN_SECRET_BYTES) throw new InvalidArgumentError(`the secret is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
  const id = bytesToHex(sha256(secret));
  const known = derived.get(id);
  if (known !== undefined) return known;
  const master = ciphers().scrypt(secret, SALT, SCRYPT.N, SCRYPT.r, SCRYPT.p, 32);
  const none = new Uint8Array(0);
  const keys: SealKeys = {
    map: hkdfSha256(master, none, enc.encode('cafs store keys v1'), 32),
    blob: hkdfSha256(master, none, enc.encode('cafs blob keys v1'), 32),
    check: hkdfSha256(master, none, enc.encode('cafs key check v1'), 16),
  };
  master.fill(0);
  if (derived.size >= 8) derived.delete(derived.keys().next().value!);
  derived.set(id, keys);
  return keys;
}

/** Where a sealed blob is stored: the plain hash under AES-256, block by block. */
export function storeKeyOf(keys: SealKeys, hash: Hash): Uint8Array {
  return ciphers().aesBlocks(keys.map, hash, false);
}

/** The plain hashes of many store keys at once (one AES pass: the store keys of a whole store). */
export function hashesOfStoreKeys(keys: SealKeys, storeKeys: readonly Uint8Array[]): Hash[] {
  const all = new Uint8Array(storeKeys.length * HASH_BYTES);
  storeKeys.forEach((k, i) => all.set(k, i * HASH_BYTES));
  const plain = ciphers().aesBlocks(keys.map, all, true);
  return storeKeys.map((_, i) => plain.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES));
}

/** How a codec store writes. */
export interface EncodeSettings {
  /** zstd level; undefined: blobs are stored raw (0x00). */
  level?: number | undefined;
  /** Seal with these keys. */
  keys?: SealKeys | undefined;
}

/**
 * The inner form of a blob: compressed when zstd saves at least 1/32 of its size (and an
 * encoder is installed), else raw. Returned as [header, payload]; the payload may be a scratch
 * buffer valid until the next call.
 */
function innerForm(plain: Uint8Array, level: number | undefined): [Uint8Array, Uint8Array] {
  if (level !== undefined && plain.length >= 32) {
    const z = zstd();
    if (z.compress !== undefined) {
      const frame = z.compress(plain, level);
      if (frame.length + (plain.length >>> 5) < plain.length) return [ZSTD_HEADER, frame];
    }
  }
  return [RAW_HEADER, plain];
}

/** The stored form of `plain`, whose SHA-256 is `hash`. A fresh array. */
export function encodeStored(hash: Hash, plain: Uint8Array, settings: EncodeSettings): Uint8Array {
  const [header, payload] = innerForm(plain, settings.level);
  if (settings.keys !== undefined) return ciphers().seal(blobKey(settings.keys, hash), SEALED_HEADER, SEALED_HEADER, [header, payload]);
  const out = new Uint8Array(1 + payload.length);
  out[0] = header[0]!;
  out.set(payload, 1);
  return out;
}

function blobKey(keys: SealKeys, hash: Hash): Uint8Array {
  return ciphers().hmacSha256(keys.blob, hash);
}

export interface DecodeSettings {
  keys?: SealKeys | undefined;
  /** Blobs larger than this are refused (a frame declaring more is corrupt). */
  maxBlobSize: number;
  /** Check the decoded bytes against the hash (default true). */
  verify?: boolean | undefined;
}

/** The plain bytes of a stored blob: ERR_INTEGRITY for anything that does not decode to them. */
export function decodeStored(hash: Hash, stored: Uint8Array, settings: DecodeSettings): Uint8Array {
  let inner = stored;
  if (settings.keys !== undefined) {
    if (stored[0] !== STORED_SEALED) throw new UndecodableBlobError(bytesToHex(hash), 'a blob of an encrypted store is not sealed');
    const opened = ciphers().open(blobKey(settings.keys, hash), SEALED_HEADER, stored.subarray(1));
    if (opened === undefined) throw new UndecodableBlobError(bytesToHex(hash), 'its authentication tag does not verify');
    inner = opened;
  } else if (stored[0] === STORED_SEALED) {
    // An unsealed store never writes this form: a flipped header byte, or a sealed store opened
    // without its codec record (openCodecStore asks for the secret before any read).
    throw new UndecodableBlobError(bytesToHex(hash), 'it is sealed, and this store does not encrypt');
  }
  const plain = decodeInner(hash, inner, settings.maxBlobSize);
  if (settings.verify !== false) {
    const actual = sha256(plain);
    for (let i = 0; i < HASH_BYTES; i++) if (actual[i] !== hash[i]) throw new IntegrityError(bytesToHex(hash), bytesToHex(actual));
  }
  return plain;
}

function decodeInner(hash: Hash, inner: Uint8Array, maxBlobSize: number): Uint8Array {
  switch (inner[0]) {
    case STORED_RAW:
      // A view: no copy. (Sealed blobs were decrypted into an array of their own.)
      return inner.subarray(1);
    case STORED_ZSTD: {
      const frame = inner.subarray(1);
      const size = zstdContentSize(frame);
      if (size === undefined) throw new UndecodableBlobError(bytesToHex(hash), 'not a zstd frame that declares its size');
      if (size > maxBlobSize) throw new UndecodableBlobError(bytesToHex(hash), `its frame declares ${size} bytes, above the ${maxBlobSize}-byte limit`);
      try {
        return zstd().decompress(frame, size);
      } catch (err) {
        throw new UndecodableBlobError(bytesToHex(hash), `its zstd frame does not decode (${(err as Error).message})`);
      }
    }
    default:
      throw new UndecodableBlobError(bytesToHex(hash), inner.length === 0 ? 'no stored bytes' : `unknown stored-blob header 0x${inner[0]!.toString(16).padStart(2, '0')}`);
  }
}

/** What a stored blob holds, for statistics: its plain size and how it is stored. */
export function storedShape(hash: Hash, stored: Uint8Array, keys: SealKeys | undefined): { plainBytes: number; form: 'raw' | 'zstd' } {
  let inner = stored;
  if (keys !== undefined) {
    const opened = stored[0] === STORED_SEALED ? ciphers().open(blobKey(keys, hash), SEALED_HEADER, stored.subarray(1)) : undefined;
    if (opened === undefined) throw new UndecodableBlobError(bytesToHex(hash), 'its authentication tag does not verify');
    inner = opened;
  }
  if (inner[0] === STORED_RAW) return { plainBytes: inner.length - 1, form: 'raw' };
  const size = inner[0] === STORED_ZSTD ? zstdContentSize(inner.subarray(1)) : undefined;
  if (size === undefined) throw new UndecodableBlobError(bytesToHex(hash), 'unknown stored form');
  return { plainBytes: size, form: 'zstd' };
}
