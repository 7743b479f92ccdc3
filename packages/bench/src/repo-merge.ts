// Three-way merge (@cafs/repo mergeRoots) in a big tree: its cost should follow the size of
// the changes (here 100 files on each side), not the size of the tree (100k files).
import { Fs } from '@cafs/fs';
import { MemoryBlobStore, type Hash } from '@cafs/kv';
// The repo package is not a dependency of the bench yet: its built output, by path (built
// before this package by `tsc -b`). Once @cafs/repo exports mergeRoots, import it from there.
import { mergeRoots } from '@cafs/repo';
import { fmt, formatTable, gc, median, progress, timeMs, type Row } from './table.js';

export interface MergeBenchConfig {
  /** Files in the tree (in directories of 100). */
  files: number;
  /** Files changed on each side. */
  changed: number;
  /** Recorded rounds per case (the median is reported), after `warmup` unrecorded ones. */
  reps: number;
  warmup: number;
}

export const DEFAULT_MERGE_CONFIG: MergeBenchConfig = { files: 100_000, changed: 100, reps: 9, warmup: 3 };

const enc = new TextEncoder();
const PER_DIR = 100;
const pathOf = (i: number): string => `/d${Math.floor(i / PER_DIR)}/f${i % PER_DIR}`;

/** `n` distinct file indexes spread over the tree, from a seed (a simple LCG). */
function pick(n: number, files: number, seed: number, avoid: ReadonlySet<number> = new Set()): number[] {
  const out = new Set<number>();
  let x = seed >>> 0;
  while (out.size < n) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const i = x % files;
    if (!avoid.has(i)) out.add(i);
  }
  return [...out];
}

async function edit(fs: Fs, root: Hash, op: (b: ReturnType<Fs['batch']>) => Promise<void>): Promise<Hash> {
  const b = fs.batch(root);
  await op(b);
  return b.flush();
}

/** Rows for the table: build time, and the median time of each merge. */
export async function benchMergeRows(config: MergeBenchConfig = DEFAULT_MERGE_CONFIG): Promise<Row[]> {
  const fs = new Fs(new MemoryBlobStore());
  const rows: Row[] = [];

  progress(`building a ${fmt.int(config.files)}-file tree in one batch`);
  let base!: Hash;
  const buildMs = await timeMs(async () => {
    const b = fs.batch(await fs.mkfs());
    for (let i = 0; i < config.files; i++) {
      if (i % PER_DIR === 0) void b.mkdir(`/d${i / PER_DIR}`);
      void b.writeFile(pathOf(i), `file ${i}: ${'x'.repeat(48)}\n`);
    }
    base = await b.flush();
  });
  rows.push({ operation: `build ${fmt.int(config.files)} files (one batch)`, cafs: fmt.ms(buildMs) });

  // Disjoint changes: each side rewrites its own files.
  const oursFiles = pick(config.changed, config.files, 1);
  const theirsFiles = pick(config.changed, config.files, 2, new Set(oursFiles));
  const ours = await edit(fs, base, async (b) => {
    for (const i of oursFiles) await b.writeFile(pathOf(i), `ours ${i}\n`);
  });
  const theirs = await edit(fs, base, async (b) => {
    for (const i of theirsFiles) await b.writeFile(pathOf(i), `theirs ${i}\n`);
  });
  // The same files edited on both sides in different byte ranges: merged range by range.
  const both = pick(config.changed, config.files, 3);
  const oursRanges = await edit(fs, base, async (b) => {
    for (const i of both) await b.write(pathOf(i), 0, enc.encode('OURS'));
  });
  const theirsRanges = await edit(fs, base, async (b) => {
    for (const i of both) await b.write(pathOf(i), 40, enc.encode('THEIRS'));
  });

  const cases: { name: string; run: () => Promise<unknown> }[] = [
    {
      name: `merge: ${config.changed} files changed on each side`,
      run: async () => {
        const r = await mergeRoots(fs, base, ours, theirs);
        if (r.conflicts.length !== 0) throw new Error('unexpected conflicts');
      },
    },
    {
      name: `merge: ${config.changed} files, both sides, different byte ranges`,
      run: async () => {
        const r = await mergeRoots(fs, base, oursRanges, theirsRanges);
        if (r.conflicts.length !== 0 || r.stats.rangeMerges !== config.changed) throw new Error('unexpected merge result');
      },
    },
    {
      name: `diff for reference: base -> ours (${config.changed} files)`,
      run: async () => {
        for await (const _ of fs.diff(base, ours, { ranges: true }));
      },
    },
  ];
  for (const c of cases) {
    progress(c.name);
    const times: number[] = [];
    for (let r = 0; r < config.warmup + config.reps; r++) {
      gc();
      const ms = await timeMs(c.run);
      if (r >= config.warmup) times.push(ms); // the first rounds warm caches and the JIT
    }
    rows.push({ operation: `${c.name} (${fmt.int(config.files)}-file tree)`, cafs: fmt.ms(median(times)) });
  }
  return rows;
}

/** The merge figures as printable lines (a Markdown table). */
export async function benchMerge(config: MergeBenchConfig = DEFAULT_MERGE_CONFIG): Promise<string[]> {
  return formatTable(await benchMergeRows(config)).split('\n');
}
