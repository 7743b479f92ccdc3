import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeSha256, nodeSha256Hex } from '../src/node.js';
import { portableSha256, setSha256, sha256, sha256Hex } from '../src/sha256.js';
import { bytesToHex } from '../src/bytes.js';
import { hashToHex, parseHash } from '../src/hash.js';

describe('SHA-256', () => {
  it('node:crypto and @noble/hashes give identical digests', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(bytesToHex(nodeSha256(data))).toBe(bytesToHex(portableSha256(data)));
      }),
      { numRuns: 500 },
    );
    const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) & 0xff);
    expect(bytesToHex(nodeSha256(big))).toBe(bytesToHex(portableSha256(big)));
  });

  it('sha256Hex is the hex of sha256, with the Node hex seam and without it', () => {
    const check = (): void =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
          expect(sha256Hex(data)).toBe(bytesToHex(portableSha256(data)));
        }),
        { numRuns: 200 },
      );
    check();
    setSha256(portableSha256);
    try {
      check();
    } finally {
      setSha256(nodeSha256, nodeSha256Hex);
    }
  });

  it('matches the FIPS 180 test vectors, and the Node entry installs node:crypto', () => {
    const abc = new TextEncoder().encode('abc');
    expect(bytesToHex(sha256(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(bytesToHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(abc)).toBeInstanceOf(Uint8Array);
    expect(sha256(abc).length).toBe(32);
  });
});

describe('printable hashes', () => {
  it('round-trips lowercase hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (h) => {
        expect(bytesToHex(parseHash(hashToHex(h)))).toBe(bytesToHex(h));
      }),
    );
  });

  it('rejects everything else with EINVAL', () => {
    const good = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    for (const bad of [good.toUpperCase(), good.slice(1), good + '0', ' ' + good.slice(1), good.slice(0, 63) + 'g', '', 'xyz']) {
      expect(() => parseHash(bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(() => parseHash(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
