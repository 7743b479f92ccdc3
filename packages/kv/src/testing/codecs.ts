// The conformance suites for the raw layer and for codec stores: every store cafs ships runs
// rawBlobStoreConformance, and blobStoreConformance wrapped in each codec (codecConformance).
import { describe, expect, it } from 'vitest';
import { bytesToHex, compareBytes } from '../bytes.js';
import { sha256 } from '../sha256.js';
import type { BlobStore } from '../store/blob-store.js';
import { CodecBlobStore, openCodecStore, type CodecOpenOptions } from '../store/codec-store.js';
import { STORED_OVERHEAD, type RawBlobStore } from '../store/raw-store.js';
import { blobStoreConformance } from './conformance.js';

export type RawAndBlobStore = RawBlobStore & BlobStore;

export interface RawStoreFactory {
  /** A new, empty store. */
  open(options?: { verify?: boolean; maxBlobSize?: number }): Promise<RawAndBlobStore>;
  /** Replaces the bytes stored under `key` behind the store's back (putRaw may keep the first copy). */
  overwrite(store: RawAndBlobStore, key: Uint8Array, bytes: Uint8Array): Promise<void>;
}

/** A secret for tests (never use a known secret for real data). */
export const TEST_SECRET = new TextEncoder().encode('cafs test secret: not for real data');

/** The codecs every store is checked under. */
export const CODEC_VARIANTS: readonly { name: string; options: CodecOpenOptions }[] = [
  { name: 'zstd:3', options: { compress: { level: 3 } } },
  { name: 'sealed', options: { encrypt: true, secret: TEST_SECRET } },
  { name: 'zstd:1+sealed', options: { compress: { level: 1 }, encrypt: true, secret: TEST_SECRET } },
];

/** Opens a fresh raw store under a codec variant. */
export async function openCoded(factory: RawStoreFactory, options: CodecOpenOptions, storeOptions?: { verify?: boolean; maxBlobSize?: number }): Promise<CodecBlobStore> {
  const raw = await factory.open(storeOptions);
  const store = await openCodecStore(raw, { ...options, verify: storeOptions?.verify });
  if (!(store instanceof CodecBlobStore)) throw new Error('expected a codec store');
  return store;
}

/** blobStoreConformance for `name` under every codec of CODEC_VARIANTS. */
export function codecConformance(name: string, factory: RawStoreFactory): void {
  for (const variant of CODEC_VARIANTS) {
    blobStoreConformance(`${name} + ${variant.name}`, {
      open: (options) => openCoded(factory, variant.options, options),
      // The corrupt bytes are stored in the codec's own form, so that with verification off
      // they decode (to the wrong bytes), as the suite expects of a plain store.
      corrupt: async (store, hash, bytes) => {
        const c = store as CodecBlobStore;
        await factory.overwrite(c.raw as RawAndBlobStore, c.storeKey(hash), c.encode(hash, bytes));
      },
    });
  }
}

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => bytesToHex(b);

/** The raw layer of a store: bytes under keys, unhashed, and named records. */
export function rawBlobStoreConformance(name: string, factory: RawStoreFactory): void {
  describe(`RawBlobStore conformance: ${name}`, () => {
    const withStore = async (fn: (store: RawAndBlobStore) => Promise<void>, options?: { maxBlobSize?: number }) => {
      const store = await factory.open(options);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };
    const key = (i: number): Uint8Array => sha256(enc.encode(`key ${i}`));

    it('keeps bytes under keys that are not their hash, unchecked', () =>
      withStore(async (store) => {
        const entries = Array.from({ length: 50 }, (_, i) => ({ key: key(i), bytes: enc.encode(`value ${i}`) }));
        await store.putRaw(entries);
        expect(new TextDecoder().decode(await store.getRaw(key(7)))).toBe('value 7');
        expect(await store.getRaw(key(99))).toBeUndefined();
        expect(await store.hasRaw([key(0), key(99), key(49)])).toEqual([true, false, true]);
        const listed: string[] = [];
        for await (const k of store.rawKeys()) listed.push(hex(k));
        expect(listed).toEqual(entries.map((e) => e.key).sort(compareBytes).map(hex));
        await store.deleteRaw([key(0), key(99)]);
        expect(await store.hasRaw([key(0), key(1)])).toEqual([false, true]);
        await store.putRaw([]);
        expect(await store.hasRaw([])).toEqual([]);
      }));

    it('takes values up to maxBlobSize + STORED_OVERHEAD', () =>
      withStore(
        async (store) => {
          await store.putRaw([{ key: key(1), bytes: new Uint8Array(1000 + STORED_OVERHEAD) }]);
          expect((await store.getRaw(key(1)))!.length).toBe(1000 + STORED_OVERHEAD);
          await expect(store.putRaw([{ key: key(2), bytes: new Uint8Array(1001 + STORED_OVERHEAD) }])).rejects.toMatchObject({ code: 'E2BIG' });
          await expect(store.putRaw([{ key: new Uint8Array(31), bytes: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'EINVAL' });
        },
        { maxBlobSize: 1000 },
      ));

    it('keeps named records apart from the blobs', () =>
      withStore(async (store) => {
        expect(await store.getMeta('codec')).toBeUndefined();
        await store.setMeta('codec', enc.encode('{"a":1}'));
        expect(new TextDecoder().decode(await store.getMeta('codec'))).toBe('{"a":1}');
        let n = 0;
        for await (const _ of store.rawKeys()) n++;
        for await (const _ of store.hashes()) n++;
        expect(n).toBe(0);
        await store.setMeta('codec', undefined);
        expect(await store.getMeta('codec')).toBeUndefined();
      }));

    it('plain puts show through the raw layer and the other way round', () =>
      withStore(async (store) => {
        const h = await store.put(enc.encode('plain blob'));
        expect(new TextDecoder().decode(await store.getRaw(h))).toBe('plain blob');
        const bytes = enc.encode('raw blob');
        await store.putRaw([{ key: sha256(bytes), bytes }]);
        expect(new TextDecoder().decode(await store.get(sha256(bytes)))).toBe('raw blob');
      }));
  });
}
