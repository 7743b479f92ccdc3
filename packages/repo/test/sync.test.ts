// sync between stores: everything reachable arrives, verified; a change costs blobs in
// proportion to itself; an interrupted transfer leaves the destination whole and resumes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelBlobStore, MemoryBlobStore, bytesToHex, type BlobStore, type Hash } from '@cafs/kv';
import { Repo } from '../src/repo.js';
import { planTransfer, sync, storeSource, type SyncSource } from '../src/sync/index.js';
import { fsck } from './sync-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const levelStore = async (): Promise<LevelBlobStore> => {
  const d = mkdtempSync(join(tmpdir(), 'cafs-sync-'));
  dirs.push(d);
  return LevelBlobStore.open(d);
};

const content = (seed: number, n: number): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 7;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};

/** path -> content hex, by reading the tree. */
async function files(repo: Repo, root: Hash, dir = '/', out = new Map<string, string>()): Promise<Map<string, string>> {
  for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
    const p = (dir === '/' ? '' : dir) + '/' + e.name;
    if (e.type === 'directory') await files(repo, root, p, out);
    else out.set(p, bytesToHex(await repo.fs.readFile(root, p)));
  }
  return out;
}

describe('sync', () => {
  it('copies random histories whole between a memory and a LevelDB store, in both directions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'd/c', 'd/e', 'big'), size: fc.integer({ min: 0, max: 200_000 }), seed: fc.nat(99) }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (commits, toDisk) => {
          const src = new Repo();
          await src.init();
          const dst = new Repo({ store: toDisk ? await levelStore() : new MemoryBlobStore() });
          let head: Hash | undefined;
          for (const writes of commits) {
            const drive = await src.drive('main');
            for (const w of writes) {
              await drive.mkdir('/d', { recursive: true });
              await drive.writeFile('/' + w.name, content(w.seed, w.size));
            }
            await drive.commit('c');
            // Sync each commit as it is made: later syncs diff against what is there.
            const want = await src.head('main');
            await sync(src.store, dst.store, { want: [want], have: head === undefined ? [] : [head] });
            head = want;
          }
          const root = (await src.resolve('main')).root;
          expect(await fsck(dst.store, head!)).toEqual({ missing: [] });
          await dst.setBranch('main', head!, undefined);
          expect(await files(dst, root)).toEqual(await files(src, root));
          await dst.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('sends blobs in proportion to a change of 10 files in 2000, and nothing twice', async () => {
    const src = new Repo();
    await src.init();
    const drive = await src.drive('main');
    for (let d = 0; d < 20; d++) {
      await drive.mkdir(`/d${d}`);
      for (let f = 0; f < 100; f++) await drive.writeFile(`/d${d}/f${f}`, content(d * 100 + f, 3000));
    }
    await drive.commit('tree');
    const dst = new Repo({ store: await levelStore() });
    const v1 = await src.head('main');
    const full = await sync(src.store, dst.store, { want: [v1] });
    expect(full.blobs).toBeGreaterThan(2000);
    for (let i = 0; i < 10; i++) await drive.writeFile(`/d${i * 2}/f${i * 7}`, content(99999 + i, 3000));
    await drive.commit('ten');
    const v2 = await src.head('main');
    const plan = await planTransfer(src.store, { want: [v2], have: [v1] });
    const delta = await sync(src.store, dst.store, { want: [v2], have: [v1] });
    // 10 data blobs, the changed leaves and their parents, one commit: not the tree.
    expect(delta.blobs).toBeGreaterThanOrEqual(12);
    expect(delta.blobs).toBeLessThan(80);
    expect(plan.length).toBeLessThan(80);
    expect(delta.blobs).toBe(plan.length);
    expect(await fsck(dst.store, v2)).toEqual({ missing: [] });
    const again = await sync(src.store, dst.store, { want: [v2], have: [v1] });
    expect(again.blobs).toBe(0);
    await dst.close();
  });

  it('refuses corrupt bytes, and resumes an interrupted transfer with only what is missing', async () => {
    const src = new Repo();
    await src.init();
    const drive = await src.drive('main');
    for (let f = 0; f < 300; f++) await drive.writeFile(`/f${f}`, content(f, 5000));
    await drive.commit('tree');
    const want = await src.head('main');
    const dst: BlobStore = new MemoryBlobStore();
    const honest = storeSource(src.store);
    let calls = 0;
    const lying: SyncSource = {
      plan: honest.plan,
      getMany: async (hashes, o) => {
        const out = await honest.getMany(hashes, o);
        if (++calls === 3) return out.map((b, i) => (i === 0 ? Uint8Array.of(...b, 1) : b));
        return out;
      },
    };
    await expect(sync(lying, dst, { want: [want] }, { batchBlobs: 50 })).rejects.toMatchObject({ code: 'ERR_INTEGRITY' });
    // What arrived is whole where it is: the commit did not.
    expect(await dst.has([want])).toEqual([false]);
    const stored = (await collect(dst.hashes())).length;
    expect(stored).toBe(100);
    const rest = await sync(src.store, dst, { want: [want] });
    expect(rest.blobs).toBe(rest.planned - stored);
    expect(await fsck(dst, want)).toEqual({ missing: [] });
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
