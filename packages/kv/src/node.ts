// The Node entry point: the same API as ./index.ts with node:crypto's SHA-256 installed.
import { hash } from 'node:crypto';
import { setSha256, type Sha256 } from './sha256.js';
import { setZstd } from './store/zstd.js';
import { loadNodeZstd } from './store/zstd-node.js';
import { setCiphers } from './store/cipher.js';
import { nodeCiphers } from './store/cipher-node.js';

export const nodeSha256: Sha256 = (data) => {
  const digest = hash('sha256', data, 'buffer') as unknown as Uint8Array;
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
};

/** node:crypto's SHA-256 as hex text (no digest buffer to allocate). */
export const nodeSha256Hex = (data: Uint8Array): string => hash('sha256', data, 'hex');

setSha256(nodeSha256, nodeSha256Hex);
// Stored-blob codecs: libzstd through zstd-napi (loaded on first use; fzstd decodes without it)
// and OpenSSL's ChaCha20-Poly1305, AES and scrypt.
setZstd(loadNodeZstd);
setCiphers(nodeCiphers);

export * from './index.js';
