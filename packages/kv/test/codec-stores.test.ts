// Every store under every codec: the shared BlobStore suite, and the raw layer beneath.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import '../src/node.js';
import { MemoryLevel } from 'memory-level';
import { codecConformance, rawBlobStoreConformance, type RawStoreFactory } from '../src/testing/codecs.js';
import { LevelBlobStore, MemoryBlobStore, replaceMemoryBlob } from '../src/store/level-blob-store.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const memory: RawStoreFactory = {
  open: async (options) => new MemoryBlobStore(options),
  overwrite: async (store, key, bytes) => replaceMemoryBlob(store as MemoryBlobStore, key, bytes),
};
const memoryLevel: RawStoreFactory = {
  open: async (options) => new LevelBlobStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' }), options),
  overwrite: (store, key, bytes) => (store as LevelBlobStore).putRaw([{ key, bytes }]),
};
const level: RawStoreFactory = {
  open: async (options) => {
    const dir = await mkdtemp(join(tmpdir(), 'cafs-codec-'));
    dirs.push(dir);
    return LevelBlobStore.open(dir, options);
  },
  overwrite: (store, key, bytes) => (store as LevelBlobStore).putRaw([{ key, bytes }]),
};

for (const [name, factory] of [
  ['memory (MemoryBlobStore)', memory],
  ['memory-level (LevelBlobStore over MemoryLevel)', memoryLevel],
  ['level (LevelDB on disk)', level],
] as const) {
  rawBlobStoreConformance(name, factory);
  codecConformance(name, factory);
}
