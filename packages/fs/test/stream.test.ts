import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, type BlobStore } from '@cafs/kv';
import { Fs } from '../src/index.js';
import { READ_AHEAD_BYTES, SCAN_BYTES } from '../src/data/file-stream.js';
import { bytes, newFs } from './helpers.js';

const collect = async (it: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
};

/** A file of data, a hole, more data and a short tail: long enough to be a scan. */
async function sample(fs: Fs): Promise<{ root: Uint8Array; want: Buffer }> {
  const a = bytes(SCAN_BYTES + 300_000, 7);
  const b = bytes(2 * READ_AHEAD_BYTES, 9);
  const hole = 3 * 65536 + 5;
  let root = await fs.writeFile(await fs.mkfs(), '/f', a);
  root = await fs.write(root, '/f', a.length + hole, b);
  root = await fs.appendFile(root, '/f', new TextEncoder().encode('tail'));
  const want = Buffer.concat([Buffer.from(a), Buffer.alloc(hole), Buffer.from(b), Buffer.from('tail')]);
  return { root, want };
}

/** A store like LevelDB's: not resident, each get a fresh copy, fetches finish out of order. */
function copying(inner: MemoryBlobStore): BlobStore {
  let n = 0;
  return {
    maxBlobSize: inner.maxBlobSize,
    resident: false,
    put: (b, o) => inner.put(b, o),
    putMany: (b, o) => inner.putMany(b, o),
    putHashed: (b, o) => inner.putHashed(b, o),
    get: async (h, o) => {
      const bytes = (await inner.get(h, o)).slice();
      if (n++ % 3 === 0) await new Promise((r) => setTimeout(r, 1));
      return bytes;
    },
    has: (h, o) => inner.has(h, o),
    delete: (h, o) => inner.delete(h, o),
    hashes: (o) => inner.hashes(o),
    close: () => inner.close(),
  };
}

const stores = {
  'a resident store': () => newFs(),
  'a store that copies (through the LRU)': () => new Fs(copying(new MemoryBlobStore()), { blobCacheBytes: 1 << 20 }),
};

describe.each(Object.entries(stores))('stream with read-ahead on %s', (_name, make) => {
  it('gives the same bytes as readFile for the whole file and for ranges', async () => {
    const fs = make();
    const { root, want } = await sample(fs);
    expect((await collect(fs.stream(root, '/f'))).equals(want)).toBe(true);
    const n = want.length;
    for (const [start, end] of [
      [0, 1],
      [1, 100_001],
      [SCAN_BYTES - 5, SCAN_BYTES + 400_000],
      [SCAN_BYTES + 300_000 - 3, SCAN_BYTES + 300_010],
      [n - 10, n],
      [5, n - 5],
      [n, n],
    ] as const) {
      expect((await collect(fs.stream(root, '/f', { start, end }))).equals(want.subarray(start, end))).toBe(true);
    }
  });

  it('stops early without unhandled rejections, and honours its signal', async () => {
    const fs = make();
    const { root } = await sample(fs);
    let seen = 0;
    for await (const p of fs.stream(root, '/f')) {
      seen += p.length;
      if (seen > 1000) break;
    }
    expect(seen).toBeGreaterThan(1000);
    const ctl = new AbortController();
    const it = fs.stream(root, '/f', { signal: ctl.signal });
    await it.next();
    ctl.abort();
    await expect(collect(it)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
