import { bytesToHex } from './bytes.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** A SHA-256 implementation: 32-byte digest of `data`. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** Pure-JS SHA-256 (runs anywhere; ~15x slower than node:crypto). */
export const portableSha256: Sha256 = (data) => nobleSha256(data);

let current: Sha256 = portableSha256;
let currentHex: ((data: Uint8Array) => string) | undefined;

/** SHA-256 with the fastest implementation installed (node:crypto under Node, see ./node.ts). */
export function sha256(data: Uint8Array): Uint8Array {
  return current(data);
}

/**
 * SHA-256 as 64 lowercase hex digits. The tree names nodes by this text, and node:crypto hands
 * it back without allocating a buffer for the digest.
 */
export function sha256Hex(data: Uint8Array): string {
  return currentHex !== undefined ? currentHex(data) : bytesToHex(current(data));
}

/**
 * The seam for a faster hash; it must give the same digests as portableSha256. `hex`, if
 * given, is the same hash giving lowercase hex text.
 */
export function setSha256(impl: Sha256, hex?: (data: Uint8Array) => string): void {
  current = impl;
  currentHex = hex;
}
