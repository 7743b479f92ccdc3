// The BlobStore conformance suite (the abstract-level pattern): every implementation runs it.
import { describe, expect, it } from 'vitest';
import { bytesToHex, compareBytes } from '../bytes.js';
import { HASH_BYTES, type Hash } from '../hash.js';
import { sha256 } from '../sha256.js';
import type { BlobStore } from '../store/blob-store.js';

export interface BlobStoreFactory {
  /** A new, empty store. */
  open(options?: { verify?: boolean; maxBlobSize?: number }): Promise<BlobStore>;
  /**
   * Overwrites the bytes stored under `hash` behind the store's back (to test integrity checks).
   * Omit it when the implementation cannot do that; the corruption case is then skipped.
   */
  corrupt?(store: BlobStore, hash: Hash, bytes: Uint8Array): Promise<void>;
}

const enc = new TextEncoder();
const hex = (h: Uint8Array): string => bytesToHex(h);

export function blobStoreConformance(name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore conformance: ${name}`, () => {
    const withStore = async (fn: (store: BlobStore) => Promise<void>, options?: { verify?: boolean; maxBlobSize?: number }) => {
      const store = await factory.open(options);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };

    it('put returns the SHA-256 and get returns the bytes', () =>
      withStore(async (store) => {
        const bytes = enc.encode('hello, cafs');
        const hash = await store.put(bytes);
        expect(hex(hash)).toBe(hex(sha256(bytes)));
        expect(hex(await store.get(hash))).toBe(hex(bytes));
      }));

    it('put is idempotent and copies its input', () =>
      withStore(async (store) => {
        const bytes = enc.encode('same bytes');
        const a = await store.put(bytes);
        const b = await store.put(bytes.slice());
        expect(hex(a)).toBe(hex(b));
        bytes[0] = 0;
        expect(new TextDecoder().decode(await store.get(a))).toBe('same bytes');
        let count = 0;
        for await (const _ of store.hashes()) count++;
        expect(count).toBe(1);
      }));

    it('stores the empty blob and large blobs up to maxBlobSize', () =>
      withStore(async (store) => {
        const empty = await store.put(new Uint8Array(0));
        expect((await store.get(empty)).length).toBe(0);
        const big = new Uint8Array(store.maxBlobSize);
        for (let i = 0; i < big.length; i += 4093) big[i] = i & 0xff;
        const h = await store.put(big);
        expect(hex(sha256(await store.get(h)))).toBe(hex(h));
        await expect(store.put(new Uint8Array(store.maxBlobSize + 1))).rejects.toMatchObject({ code: 'E2BIG' });
      }));

    it('respects a configured maxBlobSize', () =>
      withStore(
        async (store) => {
          expect(store.maxBlobSize).toBe(1000);
          await store.put(new Uint8Array(1000));
          await expect(store.putMany([new Uint8Array(1), new Uint8Array(1001)])).rejects.toMatchObject({ code: 'E2BIG' });
        },
        { maxBlobSize: 1000 },
      ));

    it('get of an absent hash is ERR_BLOB_NOT_FOUND with the hash', () =>
      withStore(async (store) => {
        const h = sha256(enc.encode('never stored'));
        await expect(store.get(h)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND', hash: hex(h) });
      }));

    it('rejects malformed hashes with EINVAL', () =>
      withStore(async (store) => {
        await expect(store.get(new Uint8Array(31))).rejects.toMatchObject({ code: 'EINVAL' });
        await expect(store.has([new Uint8Array(33)])).rejects.toMatchObject({ code: 'EINVAL' });
        await expect(store.delete(['x' as unknown as Uint8Array])).rejects.toMatchObject({ code: 'EINVAL' });
      }));

    it('putMany, has, delete and hashes agree', () =>
      withStore(async (store) => {
        const blobs = Array.from({ length: 300 }, (_, i) => enc.encode(`blob number ${i}`));
        const hashes = await store.putMany(blobs);
        expect(hashes.map(hex)).toEqual(blobs.map((b) => hex(sha256(b))));
        const absent = sha256(enc.encode('absent'));
        expect(await store.has([hashes[0]!, absent, hashes[299]!])).toEqual([true, false, true]);
        expect(await store.has([])).toEqual([]);

        const listed: Hash[] = [];
        for await (const h of store.hashes()) listed.push(h);
        expect(listed.every((h) => h.length === HASH_BYTES)).toBe(true);
        expect(listed.map(hex).sort()).toEqual(hashes.map(hex).sort());
        expect([...listed].sort(compareBytes).map(hex)).toEqual(listed.map(hex));

        await store.delete([...hashes.slice(0, 100), absent]);
        expect(await store.has(hashes.slice(0, 101))).toEqual([...Array(100).fill(false), true]);
        await expect(store.get(hashes[0]!)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
        let left = 0;
        for await (const _ of store.hashes()) left++;
        expect(left).toBe(200);
      }));

    it('putHashed stores blobs under the given hashes', () =>
      withStore(async (store) => {
        const blobs = [enc.encode('a'), enc.encode('b')].map((bytes) => ({ hash: sha256(bytes), bytes }));
        await store.putHashed(blobs);
        expect(new TextDecoder().decode(await store.get(blobs[1]!.hash))).toBe('b');
      }));

    it('verifies reads: corrupted bytes are ERR_INTEGRITY, unless verification is off', async () => {
      if (factory.corrupt === undefined) return;
      const corrupt = factory.corrupt;
      await withStore(async (store) => {
        const h = await store.put(enc.encode('precious'));
        await corrupt(store, h, enc.encode('precioUs'));
        await expect(store.get(h)).rejects.toMatchObject({ code: 'ERR_INTEGRITY', hash: hex(h) });
      });
      await withStore(
        async (store) => {
          const h = await store.put(enc.encode('precious'));
          await corrupt(store, h, enc.encode('precioUs'));
          expect(new TextDecoder().decode(await store.get(h))).toBe('precioUs');
        },
        { verify: false },
      );
    });

    it('honours an aborted signal', () =>
      withStore(async (store) => {
        const signal = AbortSignal.abort();
        await expect(store.put(enc.encode('x'), { signal })).rejects.toMatchObject({ name: 'AbortError' });
      }));
  });
}
