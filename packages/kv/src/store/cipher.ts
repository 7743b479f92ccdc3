// The primitives the encrypting codec uses, behind a seam: @noble/ciphers and @noble/hashes
// (audited, pure JS) anywhere, node:crypto (OpenSSL) under Node, installed by the package's
// `node` entry (cipher-node.ts). Both give the same bytes; a test checks it.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ecb } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';

export interface CipherSuite {
  readonly name: string;
  /**
   * ChaCha20-Poly1305 (RFC 8439) under `key` with the all-zero nonce (each key seals one
   * plaintext only: see codec.ts). Returns `prefix || ciphertext || tag`; `aad` is authenticated.
   */
  seal(key: Uint8Array, prefix: Uint8Array, aad: Uint8Array, plaintext: readonly Uint8Array[]): Uint8Array;
  /** The plaintext of `ciphertext || tag`, or undefined when the tag does not verify. */
  open(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  /** AES-256 applied to each 16-byte block of `data` (ECB), forwards or backwards. */
  aesBlocks(key: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** scrypt (RFC 7914). */
  scrypt(secret: Uint8Array, salt: Uint8Array, N: number, r: number, p: number, length: number): Uint8Array;
}

const ZERO_NONCE = new Uint8Array(12);

export const portableCiphers: CipherSuite = {
  name: '@noble/ciphers',
  seal(key, prefix, aad, plaintext) {
    let n = 0;
    for (const p of plaintext) n += p.length;
    const joined = new Uint8Array(n);
    n = 0;
    for (const p of plaintext) {
      joined.set(p, n);
      n += p.length;
    }
    const sealed = chacha20poly1305(key, ZERO_NONCE, aad).encrypt(joined);
    const out = new Uint8Array(prefix.length + sealed.length);
    out.set(prefix, 0);
    out.set(sealed, prefix.length);
    return out;
  },
  open(key, aad, sealed) {
    try {
      return chacha20poly1305(key, ZERO_NONCE, aad).decrypt(sealed);
    } catch {
      return undefined;
    }
  },
  aesBlocks(key, data, decrypt) {
    const c = ecb(key, { disablePadding: true });
    return decrypt ? c.decrypt(data) : c.encrypt(data);
  },
  hmacSha256: (key, data) => hmac(sha256, key, data),
  scrypt: (secret, salt, N, r, p, length) => scrypt(secret, salt, { N, r, p, dkLen: length, maxmem: 2 ** 30 }),
};

let current: CipherSuite = portableCiphers;

export function ciphers(): CipherSuite {
  return current;
}

/** Installs another implementation with identical results (node:crypto under Node). */
export function setCiphers(suite: CipherSuite): void {
  current = suite;
}

/** HKDF-SHA256 (RFC 5869). Three calls per store opened: the portable one serves everywhere. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, info, length);
}
