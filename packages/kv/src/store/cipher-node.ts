// node:crypto (OpenSSL) for the encrypting codec: ChaCha20-Poly1305 at ~0.9 GB/s on this
// machine against ~80 MB/s for the pure-JS one. Same bytes as cipher.ts's portable suite.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, scryptSync, type KeyObject } from 'node:crypto';
import type { CipherSuite } from './cipher.js';

const ZERO_NONCE = new Uint8Array(12);
const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The store's long-lived keys (map, blob) as OpenSSL key objects, imported once. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();
const keyObject = (key: Uint8Array): KeyObject => {
  let k = keyObjects.get(key);
  if (k === undefined) keyObjects.set(key, (k = createSecretKey(key)));
  return k;
};

export const nodeCiphers: CipherSuite = {
  name: 'node:crypto',
  seal(key, prefix, aad, plaintext) {
    const c = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plaintext.reduce((n, p) => n + p.length, 0) });
    const parts: Uint8Array[] = [prefix];
    for (const p of plaintext) parts.push(c.update(p));
    c.final();
    parts.push(c.getAuthTag());
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    n = 0;
    for (const p of parts) {
      out.set(p, n);
      n += p.length;
    }
    return out;
  },
  open(key, aad, sealed) {
    if (sealed.length < 16) return undefined;
    const d = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: sealed.length - 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const out = d.update(sealed.subarray(0, sealed.length - 16));
    try {
      d.final();
    } catch {
      return undefined;
    }
    return view(out);
  },
  aesBlocks(key, data, decrypt) {
    const c = decrypt ? createDecipheriv('aes-256-ecb', keyObject(key), null) : createCipheriv('aes-256-ecb', keyObject(key), null);
    c.setAutoPadding(false);
    return view(c.update(data));
  },
  hmacSha256: (key, data) => view(createHmac('sha256', keyObject(key)).update(data).digest()),
  scrypt: (secret, salt, N, r, p, length) => view(scryptSync(secret, salt, length, { N, r, p, maxmem: 2 ** 30 })),
};
