// The repo suite: commit rate on a branch, and garbage collection of a store of about a million
// kv entries, full against incremental after a few changes. Also prints the merge figures of
// repo-merge.ts when that file is there.
import { MemoryBlobStore, type BlobStore, type Hash } from '@cafs/kv';
// gc is not exported by @cafs/repo's index yet: its built module, by path (the same file the
// package resolves to, so GcGuard and Repo are the very classes the package uses).
import { LevelNameStore, Repo, gc as collect, guardStore, type GcReport } from '@cafs/repo';
import { UsageError, fmt, formatTable, gc, loadAverage, median, progress, timeMs, type Row, BusyMeter } from './table.js';

export interface RepoBenchConfig {
  /** Files in the big tree (two kv entries each: info and one inline extent). */
  files: number;
  /** Commits timed for the commit rate. */
  commits: number;
  /** Changes (one commit each) before each collection. */
  changes: number;
  /** Measured collections of each mode, after `warmup` unrecorded ones. */
  rounds: number;
  warmup: number;
  merge: boolean;
}

export const DEFAULT_REPO_CONFIG: RepoBenchConfig = { files: 500_000, commits: 1000, changes: 10, rounds: 5, warmup: 1, merge: true };

function parseRepoArgs(args: readonly string[]): RepoBenchConfig {
  const cfg = { ...DEFAULT_REPO_CONFIG };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (): number => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new UsageError(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--files') cfg.files = num();
    else if (a === '--commits') cfg.commits = num();
    else if (a === '--rounds') cfg.rounds = num();
    else if (a === '--no-merge') cfg.merge = false;
    else throw new UsageError(`repo suite: unknown option ${a} (options: --files N, --commits N, --rounds N, --no-merge)`);
  }
  return cfg;
}

const PER_DIR = 1000;

/**
 * A full JS GC, then a pause: V8 sweeps the old generation concurrently after a major GC, and a
 * short measurement started right away would pay for that sweep of a heap of hundreds of MB.
 */
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 250));
}
const pathOf = (i: number): string => `/d${Math.floor(i / PER_DIR)}/f${i % PER_DIR}`;

function newRepo(guarded: boolean): Repo {
  const inner = new MemoryBlobStore();
  const store: BlobStore = guarded ? guardStore(inner) : inner;
  return new Repo({ store, names: new LevelNameStore(inner.db) });
}

/** One commit on `branch` writing one small file. */
async function commitOneFile(repo: Repo, branch: string, path: string, text: string): Promise<Hash> {
  const head = await repo.resolve(branch);
  const root = await repo.fs.writeFile(head.root, path, text);
  return repo.commit(branch, root, `write ${path}`, { expect: head.commit });
}

/** Commits per second over `n` commits of one small file each. */
async function commitRate(repo: Repo, n: number, tag: string): Promise<number> {
  const head = await repo.resolve('main');
  await repo.commit('main', await repo.fs.mkdir(head.root, `/c-${tag}`), 'dir', { expect: head.commit });
  gc();
  const ms = await timeMs(async () => {
    for (let i = 0; i < n; i++) await commitOneFile(repo, 'main', `/c-${tag}/${i}`, `commit ${i} of ${tag}`);
  });
  return (n * 1000) / ms;
}

export async function runRepo(args: readonly string[]): Promise<void> {
  const cfg = parseRepoArgs(args);
  const started = performance.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  const meter = new BusyMeter();
  const section = <T>(name: string, fn: () => Promise<T>): Promise<T> => meter.section(name, fn);
  console.log(
    `repo suite: Repo over MemoryBlobStore through a GcGuard; commit rate; gc of a ${fmt.int(cfg.files)}-file tree ` +
      `(~${fmt.int(cfg.files * 2)} kv entries) after ${cfg.changes} one-file commits, keepLast 1, grace 0`,
  );

  // ---- commit rate ----
  await section('commits', async () => {
    progress(`commit rate: ${fmt.int(cfg.commits)} commits of one small file, guarded vs plain store`);
    const guarded = newRepo(true);
    const plain = newRepo(false);
    await guarded.init();
    await plain.init();
    // Interleave two halves so that neither store always runs first.
    const half = Math.max(1, cfg.commits >> 1);
    const g: number[] = [];
    const p: number[] = [];
    for (let round = 0; round < 2; round++) {
      if (round === 0) {
        g.push(await commitRate(guarded, half, `g${round}`));
        p.push(await commitRate(plain, half, `p${round}`));
      } else {
        p.push(await commitRate(plain, half, `p${round}`));
        g.push(await commitRate(guarded, half, `g${round}`));
      }
    }
    const gr = median(g);
    const pr = median(p);
    rows.push({
      operation: `commit rate, 1 small file per commit (fresh repo)`,
      cafs: fmt.rate(gr).replace('/s', 'commits/s'),
      peer: 'same, store without GcGuard',
      peerFigure: fmt.rate(pr).replace('/s', 'commits/s'),
      ratio: pr / gr,
    });
  });

  // ---- the big store ----
  const repo = newRepo(true);
  await repo.init();
  const buildMs = await section('build', async () => {
    progress(`building a ${fmt.int(cfg.files)}-file tree in one batch, then one commit`);
    return timeMs(async () => {
      const head = await repo.resolve('main');
      const b = repo.fs.batch(head.root);
      for (let i = 0; i < cfg.files; i++) {
        if (i % PER_DIR === 0) await b.mkdir(`/d${i / PER_DIR}`);
        await b.writeFile(pathOf(i), `file ${i}\n`);
      }
      await repo.commit('main', await b.flush(), 'import', { expect: head.commit });
    });
  });
  let blobs = 0;
  for await (const _ of repo.store.hashes()) blobs++;
  rows.push({ operation: `build ${fmt.int(cfg.files)} files in one batch + commit (${fmt.int(blobs)} blobs)`, cafs: fmt.ms(buildMs) });

  const bigRate = await section('commits-big', async () => {
    progress(`commit rate in the ${fmt.int(cfg.files)}-file tree`);
    return commitRate(repo, Math.max(1, cfg.commits >> 2), 'big');
  });
  rows.push({ operation: `commit rate, 1 small file per commit (${fmt.int(cfg.files)}-file tree)`, cafs: fmt.rate(bigRate).replace('/s', 'commits/s') });

  // A first collection sets the state incremental runs start from (and frees the history above).
  progress('first collection (full: no state yet)');
  await settle();
  const first = await collect(repo, { keepLast: 1, graceMs: 0 });
  notes.push(
    `first collection (${first.mode}): ${fmt.ms(first.durationMs)}, freed ${fmt.int(first.blobsDeleted)} blobs; ` +
      `live set ${fmt.int(first.blobsKept)} blobs`,
  );

  const runs: Record<'full' | 'incremental', GcReport[]> = { full: [], incremental: [] };
  let change = 0;
  await section('gc', async () => {
    // All incremental collections first, then the full ones: a full collection leaves hundreds
    // of MB of garbage and cold JIT feedback behind that the next few milliseconds would pay for.
    for (const mode of ['incremental', 'full'] as const) {
      for (let round = 0; round < cfg.warmup + cfg.rounds; round++) {
        const what = round < cfg.warmup ? 'warm-up' : `round ${round - cfg.warmup + 1}/${cfg.rounds}`;
        progress(`${mode} ${what}: ${cfg.changes} one-file commits, then a ${mode} collection`);
        for (let i = 0; i < cfg.changes; i++, change++) {
          // Alternate new files and rewrites of existing ones.
          const path = change % 2 === 0 ? `/new-${change}` : pathOf((change * 7919) % cfg.files);
          await commitOneFile(repo, 'main', path, `change ${change}`);
        }
        await settle();
        const r = await collect(repo, { keepLast: 1, graceMs: 0, mode });
        if (r.mode !== mode) throw new Error(`expected a ${mode} collection, got ${r.mode} (${r.fallback ?? ''})`);
        if (round >= cfg.warmup) runs[mode].push(r);
      }
    }
  });
  const med = (rs: GcReport[], f: (r: GcReport) => number): number => median(rs.map(f));
  const fullMs = med(runs.full, (r) => r.durationMs);
  const incMs = med(runs.incremental, (r) => r.durationMs);
  const freed = (rs: GcReport[]): string => `${fmt.int(med(rs, (r) => r.blobsDeleted))} blobs, ${fmt.int(med(rs, (r) => r.bytesDeleted))} B`;
  rows.push({
    operation: `full gc, ${fmt.int(cfg.files)}-file store (${fmt.int(med(runs.full, (r) => r.blobsKept))} live blobs)`,
    cafs: fmt.ms(fullMs),
  });
  rows.push({
    operation: `incremental gc after ${cfg.changes} commits (keepLast 1)`,
    cafs: fmt.ms(incMs),
    peer: `full gc after ${cfg.changes} commits`,
    peerFigure: fmt.ms(fullMs),
    ratio: incMs / fullMs,
    target: '>= 100x cheaper than full',
    met: fullMs / incMs >= 100,
  });
  rows.push({
    operation: `freed per collection (incremental / full)`,
    cafs: freed(runs.incremental),
    peerFigure: freed(runs.full),
  });
  notes.push(
    `candidates examined: incremental ${fmt.int(med(runs.incremental, (r) => r.candidates))}, full ${fmt.int(med(runs.full, (r) => r.candidates))} ` +
      `(every stored blob); medians of ${cfg.rounds} collections of each mode (incremental ones first), after ${cfg.warmup} warm-up round(s) each`,
  );
  const phase = (rs: GcReport[], k: keyof GcReport['phases']): string => fmt.ms(med(rs, (r) => r.phases[k]));
  for (const m of ['incremental', 'full'] as const) {
    notes.push(`${m} phases: names and history ${phase(runs[m], 'retainMs')}, plan ${phase(runs[m], 'planMs')}, sweep ${phase(runs[m], 'sweepMs')}`);
  }
  notes.push(`full / incremental: ${fmt.ratio(fullMs / incMs)}`);
  await repo.close();

  console.log('');
  meter.warn();
  console.log(formatTable(rows));
  console.log('');
  const busyNote = meter.note();
  if (busyNote !== undefined) notes.push(busyNote);
  for (const n of notes) console.log(`- ${n}`);

  if (cfg.merge) {
    // Another engineer's file: print its rows when it is there.
    const spec = './repo-merge.js';
    let mod: { benchMerge?: () => Promise<string[]> } | undefined;
    try {
      mod = (await import(spec)) as typeof mod;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
    if (mod?.benchMerge !== undefined) {
      console.log('');
      console.log('merge (repo-merge.ts):');
      for (const line of await mod.benchMerge()) console.log(line);
    }
  }
  console.log(`repo suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
