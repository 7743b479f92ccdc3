import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, type Hash } from '@cafs/kv';
import { gc, pin, pins, unpin, readGcState, GC_STATE_NAME } from '../src/gc.js';
import { guardedRepo, hex, readAll, referenceLive, storedHashes } from './gc-helpers.js';

const big = (seed: number, n = 3000): Uint8Array => {
  const b = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};

const missing = (p: Promise<unknown>) => p.then(() => false, (e: unknown) => e instanceof BlobNotFoundError);

describe('gc: what is kept and what is freed', () => {
  it('keeps heads, the last N commits, tags and pins; frees dropped commits, their nodes and data blobs', async () => {
    const { repo, inner } = guardedRepo();
    await repo.init();
    const roots: Hash[] = [];
    const commits: Hash[] = [];
    for (let i = 0; i < 6; i++) {
      const head = await repo.resolve('main');
      let root = await repo.fs.writeFile(head.root, `/f${i}.bin`, big(i));
      root = await repo.fs.writeFile(root, '/shared.txt', `version ${i}`);
      if (i > 0) root = await repo.fs.unlink(root, `/f${i - 1}.bin`); // each file's blob lives in one commit
      commits.push(await repo.commit('main', root, `c${i}`));
      roots.push(root);
    }
    await repo.createTag('v1', hex(commits[1]!));
    await pin(repo, roots[2]!);
    expect((await pins(repo)).map(hex)).toEqual([hex(roots[2]!)]);

    const first = await gc(repo, { keepLast: 2, graceMs: 0, listDeleted: true });
    expect(first.mode).toBe('full');
    expect(first.fallback).toMatch(/no previous/);
    expect(first.commitsRetained).toBe(4); // c5, c4, and tag v1's last two: c1, c0
    expect(first.rootsRetained).toBe(5); // + pinned root of c2
    expect(first.blobsDeleted).toBeGreaterThan(0);
    expect(first.bytesDeleted).toBeGreaterThan(3000); // the blobs of f3
    // Retained: readable. Dropped commits: gone with their unique data.
    for (const i of [0, 1, 2, 4, 5]) await readAll(inner, roots[i]!);
    for (const i of [2, 3]) expect(await missing(repo.readCommit(commits[i]!))).toBe(true);
    const live = await referenceLive(repo, [0, 1, 2, 4, 5].map((i) => roots[i]!), [0, 1, 4, 5].map((i) => commits[i]!));
    expect(await storedHashes(inner)).toEqual(live);
    expect(first.blobsKept).toBe(live.size);

    // Unpin and drop the tag: the next (incremental) collection frees them.
    expect(await unpin(repo, roots[2]!)).toBe(true);
    expect(await unpin(repo, roots[2]!)).toBe(false);
    await repo.deleteTag('v1');
    const second = await gc(repo, { keepLast: 2, graceMs: 0, listDeleted: true });
    expect(second.mode).toBe('incremental');
    expect(second.blobsDeleted).toBeGreaterThan(0);
    const live2 = await referenceLive(repo, [4, 5].map((i) => roots[i]!), [4, 5].map((i) => commits[i]!));
    expect(await storedHashes(inner)).toEqual(live2);
    expect(second.blobsKept).toBe(live2.size);
    expect(await missing(repo.readCommit(commits[1]!))).toBe(true);
    // A collection with nothing to do deletes nothing.
    const third = await gc(repo, { keepLast: 2, graceMs: 0 });
    expect(third).toMatchObject({ mode: 'incremental', blobsDeleted: 0, blobsKept: live2.size });
    expect(await storedHashes(inner)).toEqual(live2);
  });

  it('keepNewerThan keeps recent commits; by default all history is kept', async () => {
    const { repo, inner, clock } = guardedRepo(0n);
    await repo.init();
    const commits: Hash[] = [];
    for (let i = 0; i < 5; i++) {
      clock.t = BigInt(i + 1) * 1_000_000_000_000n; // commit i at (i+1) * 1000 s
      const head = await repo.resolve('main');
      commits.push(await repo.commit('main', await repo.fs.writeFile(head.root, '/x', big(i)), `c${i}`));
    }
    const all = await gc(repo, { graceMs: 0 });
    expect(all.commitsRetained).toBe(6); // init + 5
    expect(all.blobsDeleted).toBe(0);
    const r = await gc(repo, { keepNewerThan: new Date(3_000_000), graceMs: 0 }); // 3000 s: c2, c3, c4
    expect(r.commitsRetained).toBe(3);
    expect(await missing(repo.readCommit(commits[1]!))).toBe(true);
    expect(await missing(repo.readCommit(commits[2]!))).toBe(false);
    // Even when everything is older, the head stays.
    const h = await gc(repo, { keepNewerThan: new Date(1e12), graceMs: 0, mode: 'full' });
    expect(h.commitsRetained).toBe(1);
    await readAll(inner, (await repo.resolve('main')).root);
    expect(await missing(repo.readCommit(commits[3]!))).toBe(true);
  });

  it('keeps what unknown names hold, pins by option, and frees a deleted branch', async () => {
    const { repo, inner } = guardedRepo();
    await repo.init();
    const base = await repo.resolve('main');
    const side = await repo.fs.writeFile(base.root, '/side.bin', big(7));
    await repo.createBranch('topic', 'main');
    await repo.commit('topic', side, 'side');
    const loose = await repo.fs.writeFile(base.root, '/loose.bin', big(8)); // never committed
    const other = await repo.fs.writeFile(base.root, '/other.bin', big(9));
    await repo.names.compareAndSwap('refs/notes/x', undefined, other); // some other feature's ref
    const r = await gc(repo, { pins: [loose], graceMs: 0 });
    expect(r.rootsRetained).toBe(4);
    for (const root of [side, loose, other]) await readAll(inner, root);
    await repo.deleteBranch('topic');
    // The reflog keeps the deleted branch's head until it expires...
    const kept = await gc(repo, { graceMs: 0 });
    expect(kept.reflogExpired).toBe(0);
    await readAll(inner, side);
    // ...and an expired reflog lets it go.
    const r2 = await gc(repo, { graceMs: 0, listDeleted: true, reflogExpireMs: 0 });
    expect(r2.reflogExpired).toBeGreaterThan(0);
    expect(await repo.reflog()).toEqual([]);
    expect(r2.mode).toBe('incremental');
    await expect(readAll(inner, side)).rejects.toThrow();
    expect(r2.deleted!.length).toBe(r2.blobsDeleted);
    const live = await referenceLive(repo, [base.root, other], [await repo.head('main')]);
    expect(await storedHashes(inner)).toEqual(live);
  });

  it('persists its state under refs/gc/state; a fresh guard makes the next collection full', async () => {
    const { repo } = guardedRepo();
    await repo.init();
    await gc(repo, { graceMs: 0 });
    const state = await readGcState(repo);
    expect(state).toBeDefined();
    expect(hex((await repo.names.get(GC_STATE_NAME))!)).toBe(hex(state!.hash));
    const again = await gc(repo, { graceMs: 0 });
    expect(again.mode).toBe('incremental');
    // The same store and names through a new guard (e.g. a new process): the journal is unknown.
    const { Repo } = await import('../src/repo.js');
    const { guardStore } = await import('../src/gc.js');
    const other = new Repo({ store: guardStore((repo.store as import('../src/gc.js').GcGuard).inner), names: repo.names });
    const r = await gc(other, { graceMs: 0 });
    expect(r.mode).toBe('full');
    expect(r.fallback).toMatch(/journal/);
  });

  it('dry runs delete nothing and agree with the real run', async () => {
    const { repo, inner } = guardedRepo();
    await repo.init();
    for (let i = 0; i < 4; i++) {
      const h = await repo.resolve('main');
      await repo.commit('main', await repo.fs.writeFile(h.root, '/f', big(i)), `c${i}`);
    }
    const before = await storedHashes(inner);
    const dry = await gc(repo, { keepLast: 1, graceMs: 0, dryRun: true, listDeleted: true });
    expect(dry.blobsDeleted).toBeGreaterThan(0);
    for (const id of dry.deleted!) expect(before.has(id)).toBe(true);
    const stillThere = await storedHashes(inner);
    for (const id of before) expect(stillThere.has(id)).toBe(true);
    const real = await gc(repo, { keepLast: 1, graceMs: 0, listDeleted: true });
    expect(real.deleted).toEqual(dry.deleted);
    expect(real.blobsKept).toBe(dry.blobsKept);
  });
});

describe('gc: roots held in memory', () => {
  it('keeps a held (uncommitted) root until it is released', async () => {
    const { repo, guard, inner } = guardedRepo();
    await repo.init();
    const base = await repo.resolve('main');
    const working = await repo.fs.writeFile(base.root, '/draft.bin', big(3));
    const release = guard.hold(working);
    const r = await gc(repo, { graceMs: 0 });
    expect(r.rootsRetained).toBe(2);
    await readAll(inner, working);
    release();
    release(); // idempotent
    const r2 = await gc(repo, { graceMs: 0 });
    expect(r2.mode).toBe('incremental');
    expect(r2.bytesDeleted).toBeGreaterThan(3000);
    await expect(readAll(inner, working)).rejects.toThrow();
    await readAll(inner, base.root);
  });
});
