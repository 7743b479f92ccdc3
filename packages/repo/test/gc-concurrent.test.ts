// Collections while a writer commits: nothing a retained root needs is ever lost.
import { describe, expect, it } from 'vitest';
import type { Hash } from '@cafs/kv';
import { gc, type GcReport } from '../src/gc.js';
import type { Repo } from '../src/repo.js';
import { guardedRepo, hex, readAll, referenceLive, storedHashes } from './gc-helpers.js';

const FILES = 30_000;
const COMMITS = 200;

const content = (i: number): Uint8Array => {
  const n = i % 3 === 0 ? 2000 + (i % 7) * 100 : 40; // every third file in a data blob
  const b = new Uint8Array(n);
  for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 7) & 0xff;
  return b;
};

/** A large store with some history to drop: FILES files in one batch, then 5 commits rewriting some. */
async function largeRepo(): Promise<ReturnType<typeof guardedRepo>> {
  const r = guardedRepo();
  const { repo } = r;
  await repo.init();
  const b = repo.fs.batch((await repo.resolve('main')).root);
  for (let d = 0; d < FILES / 1000; d++) {
    await b.mkdir(`/d${d}`);
    for (let i = 0; i < 1000; i++) await b.writeFile(`/d${d}/f${i}`, content(d * 1000 + i));
  }
  await repo.commit('main', await b.flush(), 'import');
  for (let k = 0; k < 5; k++) {
    const head = await repo.resolve('main');
    let root = head.root;
    for (let i = 0; i < 20; i++) root = await repo.fs.writeFile(root, `/d${i}/f${k}`, content(100_000 + k * 100 + i));
    await repo.commit('main', root, `rewrite ${k}`);
  }
  return r;
}

/** One commit of a new file on main, built on the head read now. */
async function commitNewFile(repo: Repo, i: number): Promise<void> {
  const head = await repo.head('main');
  let root = (await repo.readCommit(head)).root;
  if (!(await repo.fs.exists(root, '/new'))) root = await repo.fs.mkdir(root, '/new');
  const next = await repo.fs.writeFile(root, `/new/${i}`, content(500_000 + i));
  await repo.commit('main', next, `new ${i}`, { expect: head });
}

async function checkAll(repo: Repo, store: Parameters<typeof readAll>[0]): Promise<void> {
  const head = await repo.resolve('main');
  const files = await readAll(store, head.root);
  for (let i = 0; i < COMMITS; i++) expect(files.has(`/new/${i}`)).toBe(true);
  expect(files.size).toBeGreaterThan(FILES);
}

describe('gc with a concurrent writer', () => {
  it('blobs written during a collection are never deleted by it (grace 0): 200 commits during a full gc', async () => {
    const { repo, guard, inner } = await largeRepo();
    const running = gc(repo, { keepLast: 1, graceMs: 0, mode: 'full' });
    // memory-level settles in microtasks: wait for the collection to start the same way.
    for (let i = 0; !guard.running && i < 1e6; i++) await null;
    expect(guard.running).toBe(true);
    let during = 0;
    const writer = (async () => {
      for (let i = 0; i < COMMITS; i++) {
        await commitNewFile(repo, i);
        if (guard.running) during++;
      }
    })();
    const [report] = await Promise.all([running, writer]);
    expect(report.blobsDeleted).toBeGreaterThan(0); // the dropped history
    expect(during).toBeGreaterThan(20); // the writer really ran alongside
    await checkAll(repo, inner);
    // Then a quiet collection leaves exactly the live set, and the head still reads.
    const after = await gc(repo, { keepLast: 1, graceMs: 0 });
    expect(after.mode).toBe('incremental');
    await checkAll(repo, inner);
    const head = await repo.resolve('main');
    expect(await storedHashes(inner)).toEqual(await referenceLive(repo, [head.root], [head.commit!]));
  });

  it('collections back to back (full and incremental, default grace) while 200 commits land: every retained root reads', async () => {
    const { repo, inner, guard } = await largeRepo();
    let done = false;
    let during = 0;
    const reports: GcReport[] = [];
    const collector = (async () => {
      for (let k = 0; !done || k < 2; k++) reports.push(await gc(repo, { keepLast: 1, mode: k % 3 === 0 ? 'full' : 'incremental' }));
    })();
    for (let i = 0; i < COMMITS; i++) {
      await commitNewFile(repo, i);
      if (guard.running) during++;
    }
    done = true;
    await collector;
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(during).toBeGreaterThan(100);
    expect(reports.some((r) => r.mode === 'incremental')).toBe(true);
    await checkAll(repo, inner);
    // Every root still named reads completely.
    const roots: Hash[] = [];
    for await (const [, h] of repo.names.list('refs/heads/')) roots.push((await repo.readCommit(h)).root);
    for (const r of roots) await readAll(inner, r);
    // Without writers and without grace, the next collections free what the writer left behind.
    const quiet = await gc(repo, { keepLast: 1, graceMs: 0 });
    expect(quiet.blobsDeleted).toBeGreaterThan(0);
    const head = await repo.resolve('main');
    expect(await storedHashes(inner)).toEqual(await referenceLive(repo, [head.root], [head.commit!]));
    expect(hex(head.commit!)).toBe(hex(await repo.head('main')));
  });
});
