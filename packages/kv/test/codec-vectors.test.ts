// docs/format.md, "Stored-blob codecs": the vectors, byte for byte.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '../src/node.js';
import { bytesToHex, utf8 } from '../src/bytes.js';
import { parseHash } from '../src/hash.js';
import { sha256 } from '../src/sha256.js';
import { decodeStored, deriveSealKeys, encodeStored, storeKeyOf } from '../src/store/codec.js';
import { zstd } from '../src/store/zstd.js';
import { TEST_SECRET } from '../src/testing/codecs.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');
const section = doc.slice(doc.indexOf('# Stored-blob codecs'));
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** The ```text blocks of the vectors subsection, as maps of field -> value. */
function vectorBlocks(): Map<string, string>[] {
  const part = section.slice(section.indexOf('## Codec test vectors'));
  return [...part.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => new Map(m[1]!.trim().split('\n').map((l) => {
    const at = l.search(/ {2,}| (?=[0-9a-f]{16})/);
    return [l.slice(0, at).trim(), l.slice(at).trim()] as [string, string];
  }).filter(([k]) => k.length > 0)));
}

describe('docs/format.md stored-blob codec vectors', () => {
  const blocks = vectorBlocks();
  const keys = deriveSealKeys(TEST_SECRET);

  it('the secret in the doc is the test secret, and the derived keys match', () => {
    expect(section).toContain('`cafs test secret: not for real data`');
    const k = blocks.find((b) => b.has('k_map'))!;
    expect(bytesToHex(keys.map)).toBe(k.get('k_map'));
    expect(bytesToHex(keys.blob)).toBe(k.get('k_blob'));
    expect(bytesToHex(keys.check)).toBe(k.get('check'));
  });

  it('every blob vector encodes and decodes byte for byte', () => {
    const blobs = blocks.filter((b) => b.has('blob'));
    expect(blobs.length).toBe(2);
    const exactZstd = zstd().name.includes('libzstd 1.5.7');
    for (const v of blobs) {
      const text = v.get('blob') === 'cafs x20' ? 'cafs '.repeat(20) : v.get('blob')!;
      const plain = utf8(text);
      const hash = sha256(plain);
      expect(bytesToHex(hash)).toBe(v.get('hash'));
      expect(bytesToHex(storeKeyOf(keys, hash))).toBe(v.get('store-key'));
      for (const [field, settings] of [
        ['zstd:3', { level: 3 }],
        ['sealed', { keys }],
        ['zstd:3+sealed', { level: 3, keys }],
      ] as const) {
        const stored = fromHex(v.get(field)!);
        // Decoding is fixed by the format; encoding also depends on the zstd version for frames.
        expect(bytesToHex(decodeStored(parseHash(v.get('hash')!), stored, { keys: 'keys' in settings ? keys : undefined, maxBlobSize: 1 << 22 }))).toBe(bytesToHex(plain));
        const compressed = stored[0] === 1 || (field !== 'sealed' && text.length >= 32);
        if (exactZstd || !compressed) expect(bytesToHex(encodeStored(hash, plain, settings))).toBe(v.get(field));
      }
    }
  });
});
