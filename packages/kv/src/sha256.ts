import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** A SHA-256 implementation: 32-byte digest of `data`. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** Pure-JS SHA-256 (runs anywhere; ~15x slower than node:crypto). */
export const portableSha256: Sha256 = (data) => nobleSha256(data);

let current: Sha256 = portableSha256;

/** SHA-256 with the fastest implementation installed (node:crypto under Node, see ./node.ts). */
export function sha256(data: Uint8Array): Uint8Array {
  return current(data);
}

/** The seam for a faster hash; it must give the same digests as portableSha256. */
export function setSha256(impl: Sha256): void {
  current = impl;
}
