// Codec stores: round trips, roots across codecs, corruption, keys, the codec record.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import '../src/node.js';
import { bytesToHex, compareBytes, utf8 } from '../src/bytes.js';
import { sha256 } from '../src/sha256.js';
import { LevelBlobStore, MemoryBlobStore, replaceMemoryBlob } from '../src/store/level-blob-store.js';
import { CodecBlobStore, openCodecStore, type CodecOpenOptions } from '../src/store/codec-store.js';
import { decodeStored, deriveSealKeys, encodeStored, STORED_RAW, STORED_SEALED, STORED_ZSTD } from '../src/store/codec.js';
import { ciphers, portableCiphers, setCiphers } from '../src/store/cipher.js';
import { nodeCiphers } from '../src/store/cipher-node.js';
import { portableZstd, setZstd, zstd, zstdContentSize } from '../src/store/zstd.js';
import { loadNodeZstd } from '../src/store/zstd-node.js';
import { storeStats } from '../src/store/store-stats.js';
import { CODEC_VARIANTS, TEST_SECRET } from '../src/testing/codecs.js';
import { Tree } from '../src/tree/tree.js';

const hex = (b: Uint8Array): string => bytesToHex(b);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(join(tmpdir(), 'cafs-codec-'));
  dirs.push(d);
  return d;
};

async function coded(options: CodecOpenOptions, raw = new MemoryBlobStore()): Promise<CodecBlobStore> {
  const s = await openCodecStore(raw, options);
  if (!(s instanceof CodecBlobStore)) throw new Error('not a codec store');
  return s;
}

/** Bytes of a given kind: text-like (compressible), random, or runs. */
const blobArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.string({ maxLength: 20000 }).map((s) => utf8(s.repeat(3))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 300_000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
  fc.array(fc.constantFrom('alpha ', 'beta ', 'gamma\n', '{"k":1}'), { maxLength: 5000 }).map((w) => utf8(w.join(''))),
);

describe('codec stores', () => {
  it('any blob round-trips under every codec, and its hash names the plain bytes', async () => {
    const stores = await Promise.all(CODEC_VARIANTS.map((v) => coded(v.options)));
    await fc.assert(
      fc.asyncProperty(blobArb, async (bytes) => {
        for (const s of stores) {
          const h = await s.put(bytes);
          expect(hex(h)).toBe(hex(sha256(bytes)));
          expect(hex(await s.get(h))).toBe(hex(bytes));
        }
      }),
      { numRuns: 60 },
    );
    for (const s of stores) await s.close();
  });

  it('the same random tree has the same root under every codec, and reads back through a fresh reader', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 300 })), { maxLength: 400, selector: ([k]) => hex(k) }),
        async (pairs) => {
          const entries = pairs.map(([key, value]) => ({ key, value })).sort((a, b) => compareBytes(a.key, b.key));
          const plain = new MemoryBlobStore();
          const root = await new Tree(plain).build(entries);
          for (const v of CODEC_VARIANTS) {
            const s = await coded(v.options);
            expect(hex(await new Tree(s).build(entries))).toBe(hex(root));
            let n = 0;
            for await (const e of new Tree(s, { cacheBytes: 1 }).entries(root)) {
              expect(hex(e.key)).toBe(hex(entries[n]!.key));
              expect(hex(e.value)).toBe(hex(entries[n]!.value));
              n++;
            }
            expect(n).toBe(entries.length);
            await s.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('corrupting any byte of a stored blob is ERR_INTEGRITY, never other bytes', async () => {
    const raw = CODEC_VARIANTS.map(() => new MemoryBlobStore());
    const stores = await Promise.all(CODEC_VARIANTS.map((v, i) => coded(v.options, raw[i])));
    // A compressing store also keeps incompressible blobs raw: both forms are damaged here.
    await fc.assert(
      fc.asyncProperty(blobArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('flip', 'truncate', 'extend'), async (bytes, at, x, how) => {
        for (let i = 0; i < stores.length; i++) {
          const s = stores[i]!;
          const h = await s.put(bytes);
          const key = s.storeKey(h);
          const stored = (await raw[i]!.getRaw(key))!;
          const bad = stored.slice();
          let damaged: Uint8Array;
          if (how === 'flip') {
            bad[at % bad.length] ^= x;
            damaged = bad;
          } else if (how === 'truncate') damaged = bad.subarray(0, at % bad.length);
          else {
            damaged = new Uint8Array(bad.length + 1);
            damaged.set(bad);
            damaged[bad.length] = x;
          }
          replaceMemoryBlob(raw[i]!, key, damaged);
          await expect(s.get(h)).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
          replaceMemoryBlob(raw[i]!, key, stored);
          expect(hex(await s.get(h))).toBe(hex(bytes));
        }
      }),
      { numRuns: 80 },
    );
  });

  it('stores a blob compressed only when that saves space', async () => {
    const s = await coded({ compress: { level: 3 } });
    const random = new Uint8Array(65536).map(() => (Math.random() * 256) | 0);
    const text = utf8('the quick brown fox jumps over the lazy dog\n'.repeat(1500));
    const hr = await s.put(random);
    const ht = await s.put(text);
    const tiny = await s.put(utf8('aaaaaaaaaaaaaaaaaaaa'));
    expect((await s.raw.getRaw(hr))![0]).toBe(STORED_RAW);
    expect((await s.raw.getRaw(hr))!.length).toBe(65537);
    expect((await s.raw.getRaw(ht))![0]).toBe(STORED_ZSTD);
    expect((await s.raw.getRaw(ht))!.length).toBeLessThan(text.length / 20);
    expect((await s.raw.getRaw(tiny))![0]).toBe(STORED_RAW);
    const st = await storeStats(s);
    expect(st).toMatchObject({ blobs: 3, logicalBytes: 65536 + text.length + 20, compressedBlobs: 1, codec: 'zstd:3', storedKnown: true });
    expect(st.storedBytes).toBe(65537 + (await s.raw.getRaw(ht))!.length + 21);
  });

  it('sealed: store keys and bytes reveal neither the content nor its hash; the same secret converges', async () => {
    const a = await coded({ encrypt: true, secret: TEST_SECRET });
    const b = await coded({ compress: { level: 3 }, encrypt: true, secret: TEST_SECRET });
    const other = await coded({ encrypt: true, secret: utf8('another secret, also long enough') });
    const text = utf8('secret plans: '.repeat(100));
    const h = await a.put(text);
    await b.put(text);
    await other.put(text);
    const keysA: Uint8Array[] = [];
    for await (const k of a.raw.rawKeys()) keysA.push(k);
    expect(keysA.length).toBe(1);
    expect(hex(keysA[0]!)).not.toBe(hex(h));
    const stored = (await a.raw.getRaw(keysA[0]!))!;
    expect(stored[0]).toBe(STORED_SEALED);
    expect(Buffer.from(stored).includes(Buffer.from('secret plans'))).toBe(false);
    expect(Buffer.from(stored).includes(Buffer.from(h))).toBe(false);
    // Convergent: another store under the same secret (and codec) writes the same bytes at the same key.
    const again = await coded({ encrypt: true, secret: TEST_SECRET });
    await again.put(text);
    expect(hex((await again.raw.getRaw(keysA[0]!))!)).toBe(hex(stored));
    // The same key with compression on (the key depends on the hash alone); another secret: another key.
    expect(await b.raw.hasRaw([keysA[0]!])).toEqual([true]);
    expect(await other.raw.hasRaw([keysA[0]!])).toEqual([false]);
    // hashes() gives the plain hashes back, sorted.
    const more = await Promise.all(Array.from({ length: 300 }, (_, i) => a.put(utf8(`blob ${i}`))));
    const listed: string[] = [];
    for await (const x of a.hashes()) listed.push(hex(x));
    expect(listed).toEqual([h, ...more].map(hex).sort());
    await a.delete([h]);
    expect(await a.has([h, more[0]!])).toEqual([false, true]);
  });

  it('a sealed store needs its secret: ERR_KEY_REQUIRED without, ERR_BAD_KEY for another; the secret is never shown', async () => {
    const dir = await tempDir();
    const secret = utf8('correct horse battery staple, 2024');
    let s = await openCodecStore(await LevelBlobStore.open(dir), { compress: { level: 5 }, encrypt: true, secret });
    const h = await s.put(utf8('kept'));
    await s.close();
    const tries: [CodecOpenOptions, string][] = [
      [{}, 'ERR_KEY_REQUIRED'],
      [{ secret: utf8('a wrong secret of enough length') }, 'ERR_BAD_KEY'],
      [{ secret: utf8('short') }, 'EINVAL'],
    ];
    for (const [options, code] of tries) {
      const raw = await LevelBlobStore.open(dir);
      const err = await openCodecStore(raw, options).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      await raw.close();
      expect(err?.code).toBe(code);
      expect(err!.message).not.toContain('wrong secret of');
      expect(err!.message).not.toContain('horse');
    }
    // The record brings the codecs back: no options but the secret.
    s = await openCodecStore(await LevelBlobStore.open(dir), { secret });
    expect(s).toBeInstanceOf(CodecBlobStore);
    expect((s as CodecBlobStore).description).toBe('zstd:5+sealed');
    expect(new TextDecoder().decode(await s.get(h))).toBe('kept');
    await s.close();
    // A plain reader of the same directory sees only sealed bytes, which never pass for blobs.
    const plain = await LevelBlobStore.open(dir);
    let n = 0;
    for await (const k of plain.hashes()) {
      n++;
      await expect(plain.get(k)).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    }
    expect(n).toBe(1);
    await plain.close();
  });

  it('codecs are chosen at creation: a plain store with blobs refuses them, a compressed one keeps them', async () => {
    const plain = new MemoryBlobStore();
    await plain.put(utf8('x'));
    await expect(openCodecStore(plain, { compress: {} })).rejects.toMatchObject({ code: 'ERR_CODEC_MISMATCH' });
    expect(await openCodecStore(plain, {})).toBe(plain);
    const dir = await tempDir();
    const c = await openCodecStore(await LevelBlobStore.open(dir), { compress: {} });
    expect((c as CodecBlobStore).description).toBe('zstd:3');
    await c.close();
    const again = await openCodecStore(await LevelBlobStore.open(dir), {});
    expect((again as CodecBlobStore).description).toBe('zstd:3');
    await expect(openCodecStore((again as CodecBlobStore).raw as LevelBlobStore, { encrypt: true, secret: TEST_SECRET })).rejects.toMatchObject({ code: 'ERR_CODEC_MISMATCH' });
    const faster = await openCodecStore((again as CodecBlobStore).raw as LevelBlobStore, { compress: { level: -3 } });
    expect((faster as CodecBlobStore).description).toBe('zstd:-3');
    await again.close();
    await expect(openCodecStore(new MemoryBlobStore(), { compress: { level: 99 } })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('an encrypted blob read without its keys is an error, not garbage', async () => {
    const s = await coded({ encrypt: true, secret: TEST_SECRET });
    const h = await s.put(utf8('hidden'));
    const loose = new CodecBlobStore(s.raw, {});
    const k = s.storeKey(h);
    // Decoded without keys (the record is what asks for them): corrupt for this reader.
    await expect(
      Promise.resolve().then(async () => decodeStored(h, (await s.raw.getRaw(k))!, { maxBlobSize: 1 << 20 })),
    ).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    // The store itself asks for the secret.
    await expect(openCodecStore(s.raw as MemoryBlobStore, {})).rejects.toMatchObject({ code: 'ERR_KEY_REQUIRED' });
    await expect(loose.get(h)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
  });
});

describe('codec implementations agree', () => {
  it('node:crypto and @noble/ciphers give the same bytes', () => {
    const keys = deriveSealKeys(TEST_SECRET);
    for (const n of [0, 1, 15, 16, 17, 1000, 70000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);
      const key = sha256(utf8(`k${n}`));
      const prefix = Uint8Array.of(2);
      const a = nodeCiphers.seal(key, prefix, prefix, [data.subarray(0, n >> 1), data.subarray(n >> 1)]);
      const b = portableCiphers.seal(key, prefix, prefix, [data]);
      expect(hex(a)).toBe(hex(b));
      expect(hex(portableCiphers.open(key, prefix, a.subarray(1))!)).toBe(hex(data));
      expect(hex(nodeCiphers.open(key, prefix, b.subarray(1))!)).toBe(hex(data));
      const bad = a.slice(1);
      bad[0] ^= 1;
      expect(nodeCiphers.open(key, prefix, bad)).toBeUndefined();
      expect(portableCiphers.open(key, prefix, bad)).toBeUndefined();
      expect(hex(nodeCiphers.hmacSha256(key, data))).toBe(hex(portableCiphers.hmacSha256(key, data)));
    }
    const blocks = sha256(utf8('blocks'));
    expect(hex(nodeCiphers.aesBlocks(keys.map, blocks, false))).toBe(hex(portableCiphers.aesBlocks(keys.map, blocks, false)));
    expect(hex(nodeCiphers.aesBlocks(keys.map, nodeCiphers.aesBlocks(keys.map, blocks, false), true))).toBe(hex(blocks));
    expect(hex(nodeCiphers.scrypt(utf8('password'), utf8('salt'), 1024, 8, 1, 32))).toBe(hex(portableCiphers.scrypt(utf8('password'), utf8('salt'), 1024, 8, 1, 32)));
  });

  it('fzstd decodes what libzstd writes, and frame sizes parse', () => {
    const napi = loadNodeZstd();
    for (const n of [0, 1, 200, 255, 256, 257, 65535, 65536 + 256, 300_000, 4 * 1024 * 1024]) {
      const data = utf8('abcabd'.repeat(Math.ceil(n / 6))).subarray(0, n);
      for (const level of [1, 3, 19]) {
        if (n > 300_000 && level === 19) continue;
        const frame = napi.compress!(data, level).slice();
        expect(zstdContentSize(frame)).toBe(n);
        expect(hex(sha256(portableZstd.decompress(frame, n)))).toBe(hex(sha256(data)));
        expect(hex(sha256(napi.decompress(frame, n)))).toBe(hex(sha256(data)));
      }
    }
    expect(zstdContentSize(utf8('not a frame'))).toBeUndefined();
  });

  it('without a native encoder blobs are stored raw, and every form still reads', async () => {
    const native = zstd();
    const suite = ciphers();
    const s = await coded({ compress: { level: 3 }, encrypt: true, secret: TEST_SECRET });
    const text = utf8('compressible '.repeat(1000));
    const h = await s.put(text);
    try {
      setZstd(portableZstd);
      setCiphers(portableCiphers);
      const browserLike = await coded({ encrypt: true, secret: TEST_SECRET }, s.raw as MemoryBlobStore);
      expect(new TextDecoder().decode(await browserLike.get(h))).toBe('compressible '.repeat(1000));
      const written = encodeStored(sha256(utf8('y'.repeat(5000))), utf8('y'.repeat(5000)), { level: 3 });
      expect(written[0]).toBe(STORED_RAW);
    } finally {
      setZstd(native);
      setCiphers(suite);
    }
  });
});
