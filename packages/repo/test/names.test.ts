// One conformance suite for every NameStore of this package (store-redis runs its own against
// a real cluster): the in-memory table, and a sublevel of memory-level and of LevelDB.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelBlobStore, MemoryBlobStore, bytesToHex } from '@cafs/kv';
import { LevelNameStore, LoggedNameStore, MemoryNameStore, Repo, type NameStore } from '../src/index.js';

const h = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const hex = (x: Uint8Array | undefined): string | undefined => (x === undefined ? undefined : bytesToHex(x));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const kinds: [string, () => Promise<NameStore>][] = [
  ['MemoryNameStore', async () => new MemoryNameStore()],
  ['LevelNameStore on memory-level', async () => new LevelNameStore(new MemoryBlobStore().db)],
  [
    'LevelNameStore on LevelDB',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cafs-names-'));
      dirs.push(dir);
      return new LevelNameStore((await LevelBlobStore.open(dir)).db);
    },
  ],
];

describe.each(kinds)('%s', (_kind, open) => {
  it('compare-and-swap creates, moves and deletes a name, refusing a stale expectation', async () => {
    const names = await open();
    expect(await names.get('refs/heads/main')).toBeUndefined();
    await names.compareAndSwap('refs/heads/main', undefined, h(1));
    expect(hex(await names.get('refs/heads/main'))).toBe(hex(h(1)));
    // Creating again, or moving from a hash it does not hold: a conflict that changes nothing.
    await expect(names.compareAndSwap('refs/heads/main', undefined, h(2))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await expect(names.compareAndSwap('refs/heads/main', h(9), h(2))).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(hex(await names.get('refs/heads/main'))).toBe(hex(h(1)));
    await names.compareAndSwap('refs/heads/main', h(1), h(2));
    expect(hex(await names.get('refs/heads/main'))).toBe(hex(h(2)));
    await expect(names.compareAndSwap('refs/heads/main', h(1), undefined)).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await names.compareAndSwap('refs/heads/main', h(2), undefined);
    expect(await names.get('refs/heads/main')).toBeUndefined();
  });

  it('keeps its own copy of a hash', async () => {
    const names = await open();
    const mine = h(3);
    await names.compareAndSwap('refs/tags/v1', undefined, mine);
    mine.fill(4);
    expect(hex(await names.get('refs/tags/v1'))).toBe(hex(h(3)));
  });

  it('lets exactly one of racing swaps from the same state win', async () => {
    const names = await open();
    await names.compareAndSwap('b', undefined, h(0));
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => names.compareAndSwap('b', h(0), h(n))));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i + 1] : []));
    expect(won).toHaveLength(1);
    expect(hex(await names.get('b'))).toBe(hex(h(won[0]!)));
  });

  it('lists the names under a prefix in the byte order of their UTF-8 form', async () => {
    const names = await open();
    // U+FF5E sorts after U+1F600 in UTF-16 code units, before it in UTF-8 bytes.
    const all = ['refs/heads/b', 'refs/heads/a', 'refs/heads/\u{1f600}', 'refs/heads/\uff5e', 'refs/heads/a/b', 'refs/tags/a', 'refs/head'];
    for (const [i, n] of all.entries()) await names.compareAndSwap(n, undefined, h(i));
    const listed: string[] = [];
    for await (const [name, hash] of names.list('refs/heads/')) {
      listed.push(name);
      expect(hex(hash)).toBe(hex(h(all.indexOf(name))));
    }
    expect(listed).toEqual(['refs/heads/a', 'refs/heads/a/b', 'refs/heads/b', 'refs/heads/\uff5e', 'refs/heads/\u{1f600}']);
  });
});

describe('the in-memory repository', () => {
  it('keeps its names beside its store: repositories opened on one store share them', async () => {
    const store = new MemoryBlobStore();
    const a = new Repo({ store });
    await a.init();
    const b = new Repo({ store });
    expect(hex(await b.head('main'))).toBe(hex(await a.head('main')));
    expect((a.names as LoggedNameStore).inner).toBeInstanceOf(MemoryNameStore);
    // Another store, other names.
    await expect(new Repo().head('main')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_REF' });
  });
});
