// Random histories, random pruning: incremental and full collections delete the same blobs,
// keep everything a retained root needs, and leave nothing unreachable.
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, type Hash } from '@cafs/kv';
import { gc, pin, unpin, type GcMode } from '../src/gc.js';
import type { Repo } from '../src/repo.js';
import { Prng, guardedRepo, hex, readAll, referenceLive, storedHashes } from './gc-helpers.js';

const BRANCH = 'refs/heads/';

/** What the options retain, computed independently (histories here are linear). */
async function expectedRetained(repo: Repo, keepLast: number | undefined): Promise<{ roots: Map<string, Hash>; commits: Map<string, Hash> }> {
  const roots = new Map<string, Hash>();
  const commits = new Map<string, Hash>();
  const keepCommit = async (h: Hash): Promise<boolean> => {
    try {
      const c = await repo.readCommit(h);
      commits.set(hex(h), h);
      roots.set(hex(c.root), c.root);
      return true;
    } catch (err) {
      if (err instanceof BlobNotFoundError) return false;
      throw err;
    }
  };
  // Branches and tags keep their history alike (tags with no head of their own).
  const tips: Hash[] = [];
  for await (const [, head] of repo.names.list(BRANCH)) tips.push(head);
  for await (const [, h] of repo.names.list('refs/tags/')) tips.push(h);
  const walks: [Hash, number][] = tips.map((h) => [h, keepLast ?? Infinity]);
  // Reflog entries: under keepLast N, each branch's newest N moves are kept, the newest with N
  // commits of history, the others their own commit; else every move keeps its whole history
  // (nothing here is old enough to expire).
  const moves = new Map<string, Hash[]>();
  for (const e of await repo.reflog()) moves.set(e.branch, [...(moves.get(e.branch) ?? []), e.commit]);
  for (const list of moves.values()) {
    const kept = list.slice(-(keepLast ?? list.length));
    kept.forEach((h, i) => walks.push([h, keepLast === undefined ? Infinity : i === kept.length - 1 ? keepLast : 1]));
  }
  for (const [head, depth] of walks) {
    let h: Hash | undefined = head;
    for (let n = 0; h !== undefined && n < depth; n++) {
      if (!(await keepCommit(h))) break;
      h = (await repo.readCommit(h)).parents[0];
    }
  }
  for await (const [, h] of repo.names.list('refs/pins/')) roots.set(hex(h), h);
  return { roots, commits };
}

const PATHS = ['/a', '/b', '/c', '/d/e', '/d/f', '/d/g/h', '/d/g/i', '/j'];

async function randomCommit(repo: Repo, rnd: Prng, branch: string, pool: Uint8Array[], bulk: number): Promise<void> {
  const head = await repo.resolve(branch);
  const b = repo.fs.batch(head.root);
  const edits = 1 + rnd.below(3);
  for (let i = 0; i < edits; i++) {
    const path = bulk > 0 && rnd.below(2) === 0 ? `/bulk/f${rnd.below(bulk)}` : rnd.pick(PATHS);
    try {
      switch (rnd.below(5)) {
        case 0:
          await b.writeFile(path, `small ${rnd.below(1000)}`);
          break;
        case 1:
        case 2:
          await b.mkdir(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true });
          await b.writeFile(path, rnd.pick(pool)); // blobs shared between files and commits
          break;
        case 3:
          await b.rm(path, { force: true });
          break;
        case 4: {
          const to = rnd.pick(PATHS);
          await b.mkdir(to.slice(0, to.lastIndexOf('/')) || '/', { recursive: true });
          await b.copy(path, to); // the same blob referenced twice in one tree
          break;
        }
      }
    } catch {
      // ENOENT, EISDIR, ...: skip the edit
    }
  }
  await repo.commit(branch, await b.flush(), 'random', { expect: head.commit });
}

async function run(seed: number, steps: number, bulk = 0): Promise<void> {
  const rnd = new Prng(seed);
  const { repo, inner } = guardedRepo();
  await repo.init();
  const pool = Array.from({ length: 8 }, () => rnd.bytes(1100 + rnd.below(4000)));
  if (bulk > 0) {
    // A deeper tree: `bulk` files in one batch, some of them in (shared) data blobs.
    const head = await repo.resolve('main');
    const b = repo.fs.batch(head.root);
    await b.mkdir('/bulk');
    for (let i = 0; i < bulk; i++) await b.writeFile(`/bulk/f${i}`, i % 10 === 0 ? rnd.pick(pool) : `bulk ${i}`);
    await repo.commit('main', await b.flush(), 'bulk', { expect: head.commit });
  }
  let gcs = 0;
  for (let step = 0; step < steps; step++) {
    const branches = [];
    for await (const [name] of repo.names.list(BRANCH)) branches.push(name.slice(BRANCH.length));
    const op = rnd.below(20);
    if (op < 10) await randomCommit(repo, rnd, rnd.pick(branches), pool, bulk);
    else if (op < 12 && branches.length < 4) await repo.createBranch(`b${step}`, rnd.pick(branches));
    else if (op < 13 && branches.length > 1) await repo.deleteBranch(rnd.pick(branches.filter((b) => b !== 'main')));
    else if (op < 14) await repo.createTag(`t${step}`, rnd.pick(branches)).catch(() => undefined);
    else if (op < 15) {
      const tags = [];
      for await (const [name] of repo.names.list('refs/tags/')) tags.push(name.slice('refs/tags/'.length));
      if (tags.length > 0) await repo.deleteTag(rnd.pick(tags));
    } else if (op < 16) await pin(repo, (await repo.resolve(rnd.pick(branches))).root);
    else if (op < 17) {
      const pinned = [];
      for await (const [, h] of repo.names.list('refs/pins/')) pinned.push(h);
      if (pinned.length > 0) await unpin(repo, rnd.pick(pinned));
    } else if (op < 18) {
      // Garbage that was never committed.
      await repo.fs.writeFile((await repo.resolve('main')).root, '/loose', rnd.bytes(1500));
    } else {
      const keepLast = rnd.pick([1, 2, 3, undefined]);
      const inc = await gc(repo, { keepLast, graceMs: 0, dryRun: true, listDeleted: true, mode: 'incremental' });
      const full = await gc(repo, { keepLast, graceMs: 0, dryRun: true, listDeleted: true, mode: 'full' });
      expect(inc.mode).toBe(gcs === 0 ? 'full' : 'incremental');
      expect(inc.deleted).toEqual(full.deleted);
      expect(inc.blobsKept).toBe(full.blobsKept);
      expect(inc.bytesDeleted).toBe(full.bytesDeleted);
      const mode: GcMode = rnd.pick(['full', 'incremental']);
      const expected = await expectedRetained(repo, keepLast);
      const real = await gc(repo, { keepLast, graceMs: 0, listDeleted: true, mode });
      gcs++;
      expect(real.deleted).toEqual(full.deleted);
      expect(real.rootsRetained).toBe(expected.roots.size);
      expect(real.commitsRetained).toBe(expected.commits.size);
      // Every retained root reads completely, and nothing else is left.
      for (const root of expected.roots.values()) await readAll(inner, root);
      const live = await referenceLive(repo, expected.roots.values(), expected.commits.values());
      expect(await storedHashes(inner)).toEqual(live);
      expect(real.blobsKept).toBe(live.size);
    }
  }
  expect(gcs).toBeGreaterThan(3);
}

describe('gc on random histories', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: incremental = full, retained roots read completely, no unreachable blob left`, async () => {
      await run(seed, 150);
    });
  }
  for (const seed of [7, 8]) {
    it(`seed ${seed}, over a 5,000-file tree: incremental = full, retained roots read completely, no unreachable blob left`, async () => {
      await run(seed, 80, 5_000);
    });
  }
});
