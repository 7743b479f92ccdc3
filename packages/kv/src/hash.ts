import { bytesToHex } from './bytes.js';
import { InvalidArgumentError } from './errors.js';

/** A 32-byte SHA-256 digest naming a blob. */
export type Hash = Uint8Array;

export const HASH_BYTES = 32;

/** Lowercase hex, the printable form of a hash. */
export function hashToHex(hash: Hash): string {
  return bytesToHex(hash);
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/** Parses the printable form; anything but 64 lowercase hex digits is an EINVAL error. */
export function parseHash(text: string): Hash {
  if (typeof text !== 'string' || !HEX_HASH.test(text)) {
    const shown = typeof text === 'string' ? JSON.stringify(text.length > 80 ? text.slice(0, 80) + '…' : text) : typeof text;
    throw new InvalidArgumentError(`not a hash: ${shown} (expected 64 lowercase hex digits)`);
  }
  const out = new Uint8Array(HASH_BYTES);
  for (let i = 0; i < HASH_BYTES; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function isHash(x: unknown): x is Hash {
  return x instanceof Uint8Array && x.length === HASH_BYTES;
}

export function assertHash(x: unknown, what = 'hash'): asserts x is Hash {
  if (!isHash(x)) throw new InvalidArgumentError(`${what} must be a ${HASH_BYTES}-byte Uint8Array`);
}
