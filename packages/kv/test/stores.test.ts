import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../src/node.js';
import { MemoryLevel } from 'memory-level';
import { blobStoreConformance } from '../src/testing/conformance.js';
import { LevelBlobStore, MemoryBlobStore, replaceMemoryBlob } from '../src/store/level-blob-store.js';
import type { BlobStore } from '../src/store/blob-store.js';
import type { Hash } from '../src/hash.js';
import { Tree } from '../src/tree/tree.js';
import { utf8 } from '../src/bytes.js';

async function corruptLevel(store: BlobStore, hash: Hash, bytes: Uint8Array): Promise<void> {
  const db = (store as LevelBlobStore).db;
  await db.sublevel<Uint8Array, Uint8Array>('blobs', { keyEncoding: 'view', valueEncoding: 'view' }).put(hash, bytes);
}

blobStoreConformance('memory (MemoryBlobStore)', {
  open: async (options) => new MemoryBlobStore(options),
  corrupt: async (store, hash, bytes) => replaceMemoryBlob(store as MemoryBlobStore, hash, bytes),
});

blobStoreConformance('memory-level (LevelBlobStore over MemoryLevel)', {
  open: async (options) =>
    new LevelBlobStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' }), options),
  corrupt: corruptLevel,
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

blobStoreConformance('level (LevelDB on disk)', {
  open: async (options) => {
    const dir = await mkdtemp(join(tmpdir(), 'cafs-level-'));
    dirs.push(dir);
    return LevelBlobStore.open(dir, options);
  },
  corrupt: corruptLevel,
});

describe('LevelBlobStore on disk', () => {
  it('keeps a tree across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cafs-level-'));
    dirs.push(dir);
    let store = await LevelBlobStore.open(dir);
    let tree = new Tree(store);
    const entries = Array.from({ length: 20_000 }, (_, i) => ({ key: utf8(`k${String(i).padStart(8, '0')}`), value: utf8(`v${i}`) }));
    const root = await tree.build(entries);
    await store.close();
    store = await LevelBlobStore.open(dir);
    tree = new Tree(store);
    expect(new TextDecoder().decode(await tree.get(root, utf8('k00012345')))).toBe('v12345');
    let n = 0;
    for await (const _ of tree.entries(root)) n++;
    expect(n).toBe(20_000);
    await store.close();
  });
});

describe('LevelBlobStore verify-once memo', () => {
  const enc = new TextEncoder();
  const open = (verifiedMemo?: number): LevelBlobStore =>
    new LevelBlobStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' }), { verifiedMemo });

  it('hashes a blob on its first read only, unless the memo is off', async () => {
    const store = open();
    const h = await store.put(enc.encode('precious'));
    expect(new TextDecoder().decode(await store.get(h))).toBe('precious');
    await corruptLevel(store, h, enc.encode('precioUs'));
    // Verified once in this process: not hashed again (fsck re-hashes every blob itself).
    expect(new TextDecoder().decode(await store.get(h))).toBe('precioUs');
    await store.close();

    const always = open(0);
    const h2 = await always.put(enc.encode('precious'));
    await always.get(h2);
    await corruptLevel(always, h2, enc.encode('precioUs'));
    await expect(always.get(h2)).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    await always.close();
  });

  it('forgets the oldest blobs beyond its bound, and deleted ones', async () => {
    const store = open(2);
    const hs = await store.putMany(['a', 'b', 'c'].map((s) => enc.encode(s)));
    for (const h of hs) await store.get(h);
    // 'a' was dropped when 'c' was remembered: a corruption of it is caught again.
    await corruptLevel(store, hs[0]!, enc.encode('A'));
    await expect(store.get(hs[0]!)).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    await store.delete([hs[2]!]);
    await corruptLevel(store, hs[2]!, enc.encode('C'));
    await expect(store.get(hs[2]!)).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    await store.close();
  });
});

describe('LevelBlobStore reads', () => {
  it('gives the same answers with synchronous reads off', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cafs-level-'));
    dirs.push(dir);
    for (const syncReads of [true, false]) {
      const store = await LevelBlobStore.open(join(dir, String(syncReads)), { syncReads });
      const h = await store.put(utf8('x'.repeat(100_000)));
      expect((await store.get(h)).length).toBe(100_000);
      await store.delete([h]);
      await expect(store.get(h)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
      await store.close();
    }
  });
});
