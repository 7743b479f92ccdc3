// The fs suite: @cafs/fs (default options over a MemoryBlobStore) side by side with memfs
// (in-memory node:fs), node:fs on tmpfs (/dev/shm) and @helia/unixfs over an in-memory
// blockstore. Every figure is a median of interleaved rounds (see `sideBySide`).
import { Fs } from '@cafs/fs';
import { MAX_NODE_BYTES, MemoryBlobStore, bytesToHex, equalBytes, type BlobStore, type Hash } from '@cafs/kv';
import { unixfs, type UnixFS } from '@helia/unixfs';
import { MemoryBlockstore } from 'blockstore-core';
import { Volume } from 'memfs';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync, statfsSync } from 'node:fs';
import * as nfs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError, fmt, gc, loadAverage, median, progress, BusyMeter } from './table.js';

type Cid = Awaited<ReturnType<UnixFS['addBytes']>>;

const KiB = 1024;
const MiB = 1024 * 1024;

export interface FsBenchConfig {
  /** Files in the big snapshot tree (default 1M; 300k if the probe says 1M would take over 2 minutes). */
  snapshotFiles: number | undefined;
}

export function parseFsArgs(args: readonly string[]): FsBenchConfig {
  const config: FsBenchConfig = { snapshotFiles: undefined };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--snapshot-files(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const v = Number(m[1] ?? args[++i]);
      if (!Number.isInteger(v) || v < 10_000) throw new UsageError(`fs: --snapshot-files wants an integer >= 10000, got ${m[1] ?? args[i]}`);
      config.snapshotFiles = v;
    } else {
      throw new UsageError(`fs: unknown option ${a} (known: --snapshot-files N)`);
    }
  }
  return config;
}

// ---- data, checks and measuring ----

/** `len` pseudo-random bytes, the same on every machine for a seed (AES-128-CTR keystream). */
function pseudoRandom(len: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = Buffer.allocUnsafe(len);
  const zeros = Buffer.alloc(Math.min(len, 4 * MiB));
  for (let at = 0; at < len; at += zeros.length) {
    const n = Math.min(zeros.length, len - at);
    cipher.update(zeros.subarray(0, n)).copy(out, at);
  }
  return out;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`bench self-check failed: ${what}`);
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** One contender's round: returns the milliseconds to record, or nothing to record the wall time of the call. */
type Contender = (round: number) => Promise<number | void>;

/**
 * Runs the contenders side by side: `warmup` unrecorded rounds then `reps` recorded ones; each
 * round runs every contender once, starting from a different one each round. A contender may
 * time only part of its round (returning those ms) to keep set-up out of the figure.
 */
async function sideBySide(contenders: Record<string, Contender>, reps: number, warmup = 1): Promise<Record<string, number>> {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < warmup + reps; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!;
      gc();
      const t0 = performance.now();
      const inner = await contenders[name]!(round);
      const ms = typeof inner === 'number' ? inner : performance.now() - t0;
      if (round >= warmup) times[name]!.push(ms);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n]!)]));
}

async function timed(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Blob count and bytes of a store (every hash, each blob's size). */
async function storeUsage(store: BlobStore): Promise<{ blobs: number; bytes: number; hashes: Set<string> }> {
  let bytes = 0;
  const hashes = new Set<string>();
  for await (const h of store.hashes()) {
    hashes.add(bytesToHex(h));
    bytes += (await store.get(h)).length;
  }
  return { blobs: hashes.size, bytes, hashes };
}

/** What a store gained between two usages; blobs above the largest tree node are file chunks. */
async function storeGrowth(
  store: BlobStore,
  before: { hashes: Set<string>; bytes: number; blobs: number },
): Promise<{ blobs: number; bytes: number; chunkBlobs: number; chunkBytes: number; nodeBlobs: number; nodeBytes: number }> {
  const g = { blobs: 0, bytes: 0, chunkBlobs: 0, chunkBytes: 0, nodeBlobs: 0, nodeBytes: 0 };
  for await (const h of store.hashes()) {
    if (before.hashes.has(bytesToHex(h))) continue;
    const n = (await store.get(h)).length;
    g.blobs++;
    g.bytes += n;
    if (n > MAX_NODE_BYTES) {
      g.chunkBlobs++;
      g.chunkBytes += n;
    } else {
      g.nodeBlobs++;
      g.nodeBytes += n;
    }
  }
  return g;
}

async function blockstoreBytes(bs: MemoryBlockstore): Promise<{ blocks: number; bytes: number }> {
  let blocks = 0;
  let bytes = 0;
  for await (const pair of bs.getAll()) {
    blocks++;
    for await (const piece of pair.bytes) bytes += piece.length;
  }
  return { blocks, bytes };
}

async function catAll(h: UnixFS, cid: Cid, p?: string): Promise<number> {
  let n = 0;
  for await (const piece of h.cat(cid, p === undefined ? {} : { path: p })) n += piece.length;
  return n;
}

/** Bytes in a memfs volume's files (memfs keeps one buffer per file, no sharing). */
function memfsBytes(vol: Volume, dir = '/'): number {
  let n = 0;
  for (const name of vol.readdirSync(dir) as string[]) {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    const st = vol.statSync(p);
    n += st.isDirectory() ? memfsBytes(vol, p) : Number(st.size);
  }
  return n;
}

function duBytes(p: string): number {
  return Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split(/\s/, 1)[0]);
}

/** Bytes shown as B / KiB / MiB. */
function size(n: number): string {
  const a = Math.abs(n);
  const s = n < 0 ? '-' : '';
  if (a >= MiB) return `${s}${(a / MiB).toFixed(a >= 100 * MiB ? 0 : 1)} MiB`;
  if (a >= KiB) return `${s}${(a / KiB).toFixed(a >= 100 * KiB ? 0 : 1)} KiB`;
  return `${s}${a} B`;
}

/** Decimal MB/s for `bytes` in `ms`. */
function mbps(bytes: number, ms: number): string {
  const v = bytes / 1e3 / ms;
  return v >= 1000 ? `${(v / 1000).toFixed(2)} GB/s` : `${v.toFixed(0)} MB/s`;
}

function filesPerSec(files: number, ms: number): string {
  return `${fmt.rate((files / ms) * 1000)} (${fmt.ms(ms)})`;
}

// ---- the table ----

interface FsRow {
  operation: string;
  cafs: string;
  memfs?: string | undefined;
  tmpfs?: string | undefined;
  helia?: string | undefined;
  ratio?: string | undefined;
  target?: string | undefined;
  met?: boolean | undefined;
}

const COLUMNS: { title: string; get: (r: FsRow) => string; right?: boolean }[] = [
  { title: 'operation', get: (r) => r.operation },
  { title: 'cafs', get: (r) => r.cafs, right: true },
  { title: 'memfs', get: (r) => r.memfs ?? '-', right: true },
  { title: 'tmpfs', get: (r) => r.tmpfs ?? '-', right: true },
  { title: 'helia', get: (r) => r.helia ?? '-', right: true },
  { title: 'ratio', get: (r) => r.ratio ?? '', right: true },
  { title: 'target', get: (r) => r.target ?? '' },
  { title: 'met?', get: (r) => (r.met === undefined ? '' : r.met ? 'yes' : 'NO') },
];

function formatFsTable(rows: readonly FsRow[]): string {
  const cells = rows.map((r) => COLUMNS.map((c) => c.get(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]): string =>
    `| ${vals.map((v, i) => (COLUMNS[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (COLUMNS[i]!.right ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(COLUMNS.map((c) => c.title)), sep, ...cells.map(line)].join('\n');
}

/** cafs time / memfs time, labelled. */
function vsMemfs(cafsMs: number, memfsMs: number): string {
  return `${fmt.ratio(cafsMs / memfsMs)} memfs`;
}

// ---- how busy the machine was ----

interface Mark {
  wallMs: number;
  machineBusy: number;
  /** This process's CPU seconds, plus its waited-for children's (cp, du). */
  own: number;
}

function mark(): Mark | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
    const self = readFileSync('/proc/self/stat', 'utf8');
    const rest = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    const children = (rest[13]! + rest[14]!) / 100; // cutime cstime
    const u = process.cpuUsage();
    return { wallMs: performance.now(), machineBusy: busy, own: (u.user + u.system) / 1e6 + children };
  } catch {
    return undefined;
  }
}

function othersShareSince(from: Mark | undefined): number | undefined {
  const to = mark();
  if (from === undefined || to === undefined) return undefined;
  const capacity = ((to.wallMs - from.wallMs) / 1000) * os.cpus().length;
  const others = to.machineBusy - from.machineBusy - (to.own - from.own);
  return capacity > 0 ? Math.min(1, Math.max(0, others / capacity)) : undefined;
}

// ---- the suite ----

const FILES = 10_000;
const FILE_BYTES = 4 * KiB;
const DIR = '/d';
const filePath = (i: number): string => `${DIR}/f${i}`;

interface Ctx {
  cfg: FsBenchConfig;
  tmp: string;
  rows: FsRow[];
  notes: string[];
}

/** The 10k-file trees every peer holds after item 2; stat, snapshot and rename use them. */
interface Fixtures {
  cafs: Fs;
  cafsRoot: Hash;
  vol: Volume;
  tmpDir: string;
  helia: UnixFS;
  heliaRoot: Cid;
  content: Buffer;
}

/** 2. Write then read 10,000 files of 4 KiB. */
async function manyFiles(ctx: Ctx): Promise<Fixtures> {
  progress(`write ${fmt.int(FILES)} files of 4 KiB: cafs (batch; one root per file) vs memfs vs tmpfs vs helia addAll`);
  const content = pseudoRandom(FILES * FILE_BYTES, 2);
  const piece = (i: number): Buffer => content.subarray(i * FILE_BYTES, (i + 1) * FILE_BYTES);
  const fx: Partial<Fixtures> = { content };
  let tmpRound = 0;
  const w = await sideBySide(
    {
      cafsBatch: async () => {
        const fs = new Fs(new MemoryBlobStore());
        const root0 = await fs.mkfs();
        const t0 = performance.now();
        const b = fs.batch(root0);
        await b.mkdir(DIR);
        for (let i = 0; i < FILES; i++) await b.writeFile(filePath(i), piece(i));
        const root = await b.flush();
        const ms = performance.now() - t0;
        fx.cafs = fs;
        fx.cafsRoot = root;
        return ms;
      },
      cafsSingle: async () => {
        const fs = new Fs(new MemoryBlobStore());
        let root = await fs.mkfs();
        const t0 = performance.now();
        root = await fs.mkdir(root, DIR);
        for (let i = 0; i < FILES; i++) root = await fs.writeFile(root, filePath(i), piece(i));
        return performance.now() - t0;
      },
      memfs: async () => {
        const vol = new Volume();
        const t0 = performance.now();
        await vol.promises.mkdir(DIR);
        for (let i = 0; i < FILES; i++) await vol.promises.writeFile(filePath(i), piece(i));
        const ms = performance.now() - t0;
        fx.vol = vol;
        return ms;
      },
      tmpfs: async () => {
        const dir = path.join(ctx.tmp, `w${tmpRound++}`);
        await nfs.mkdir(dir);
        const t0 = performance.now();
        await nfs.mkdir(dir + DIR);
        for (let i = 0; i < FILES; i++) await nfs.writeFile(dir + filePath(i), piece(i));
        const ms = performance.now() - t0;
        fx.tmpDir = dir;
        return ms;
      },
      helia: async () => {
        const h = unixfs({ blockstore: new MemoryBlockstore() });
        const t0 = performance.now();
        let root: Cid | undefined;
        const source = function* (): Generator<{ path: string; content: Uint8Array }> {
          for (let i = 0; i < FILES; i++) yield { path: filePath(i).slice(1), content: piece(i) };
        };
        for await (const e of h.addAll(source(), { wrapWithDirectory: true })) root = e.cid;
        const ms = performance.now() - t0;
        fx.helia = h;
        fx.heliaRoot = root!;
        return ms;
      },
    },
    3,
  );
  const f = fx as Fixtures;
  check(equalBytes(await f.cafs.readFile(f.cafsRoot, filePath(1234)), piece(1234)), 'cafs reads back what it wrote');
  check(equalBytes(await f.vol.promises.readFile(filePath(1234)), piece(1234)), 'memfs reads back');
  check((await catAll(f.helia, f.heliaRoot, filePath(1234).slice(1))) === FILE_BYTES, 'helia reads back');
  ctx.rows.push(
    {
      operation: `write ${fmt.int(FILES)} x 4 KiB files (cafs: one batch + flush)`,
      cafs: filesPerSec(FILES, w.cafsBatch!),
      memfs: filesPerSec(FILES, w.memfs!),
      tmpfs: filesPerSec(FILES, w.tmpfs!),
      helia: filesPerSec(FILES, w.helia!),
      ratio: vsMemfs(w.cafsBatch!, w.memfs!),
      target: '<= 3x memfs',
      met: w.cafsBatch! / w.memfs! <= 3,
    },
    {
      operation: `write ${fmt.int(FILES)} x 4 KiB files (cafs: one root per file)`,
      cafs: filesPerSec(FILES, w.cafsSingle!),
      memfs: filesPerSec(FILES, w.memfs!),
      tmpfs: filesPerSec(FILES, w.tmpfs!),
      helia: filesPerSec(FILES, w.helia!),
      ratio: vsMemfs(w.cafsSingle!, w.memfs!),
      target: '<= 3x memfs',
      met: w.cafsSingle! / w.memfs! <= 3,
    },
  );

  progress(`read the ${fmt.int(FILES)} files back (helia: a sample)`);
  const HELIA_SAMPLE = 100;
  const r = await sideBySide(
    {
      cafs: async () => {
        for (let i = 0; i < FILES; i++) if ((await f.cafs.readFile(f.cafsRoot, filePath(i))).length !== FILE_BYTES) check(false, 'cafs file size');
      },
      memfs: async () => {
        for (let i = 0; i < FILES; i++) if ((await f.vol.promises.readFile(filePath(i))).length !== FILE_BYTES) check(false, 'memfs file size');
      },
      tmpfs: async () => {
        for (let i = 0; i < FILES; i++) if ((await nfs.readFile(f.tmpDir + filePath(i))).length !== FILE_BYTES) check(false, 'tmpfs file size');
      },
      helia: async () => {
        const step = FILES / HELIA_SAMPLE;
        for (let i = 0; i < FILES; i += step) if ((await catAll(f.helia, f.heliaRoot, filePath(i).slice(1))) !== FILE_BYTES) check(false, 'helia size');
      },
    },
    3,
  );
  ctx.rows.push({
    operation: `read ${fmt.int(FILES)} x 4 KiB files (readFile each)`,
    cafs: filesPerSec(FILES, r.cafs!),
    memfs: filesPerSec(FILES, r.memfs!),
    tmpfs: filesPerSec(FILES, r.tmpfs!),
    helia: `${fmt.rate((HELIA_SAMPLE / r.helia!) * 1000)} *`,
    ratio: vsMemfs(r.cafs!, r.memfs!),
    target: '<= 3x memfs',
    met: r.cafs! / r.memfs! <= 3,
  });
  ctx.notes.push(
    `10k files: memfs and tmpfs through their promise APIs (awaited one by one); helia writes with one addAll (its batch) and ` +
      `reads with cat(dirCid, {path}); * helia read rate from ${HELIA_SAMPLE} of the files (each read walks the 10k-entry directory)`,
  );
  return f;
}

/** 1. stat of a missing path, on the 10k-file trees. */
async function statMissing(ctx: Ctx, f: Fixtures): Promise<void> {
  progress('stat of a missing path');
  const N = { cafs: 100_000, memfs: 50_000, tmpfs: 20_000, helia: 2_000 };
  const missing = '/missing';
  try {
    await f.helia.stat(f.heliaRoot, { path: 'missing' });
    check(false, 'helia stat of a missing path throws');
  } catch (err) {
    check((err as Error).name === 'NotFoundError', `helia stat of a missing path: NotFoundError (got ${(err as Error).name})`);
  }
  const t = await sideBySide(
    {
      cafs: async () => {
        for (let i = 0; i < N.cafs; i++) {
          try {
            await f.cafs.stat(f.cafsRoot, missing);
            check(false, 'cafs stat of a missing path throws');
          } catch (err) {
            if (!isCode(err, 'ENOENT')) throw err;
          }
        }
      },
      memfs: async () => {
        for (let i = 0; i < N.memfs; i++) {
          try {
            await f.vol.promises.stat(missing);
            check(false, 'memfs stat of a missing path throws');
          } catch (err) {
            if (!isCode(err, 'ENOENT')) throw err;
          }
        }
      },
      tmpfs: async () => {
        const p = f.tmpDir + missing;
        for (let i = 0; i < N.tmpfs; i++) {
          try {
            await nfs.stat(p);
            check(false, 'node:fs stat of a missing path throws');
          } catch (err) {
            if (!isCode(err, 'ENOENT')) throw err;
          }
        }
      },
      helia: async () => {
        for (let i = 0; i < N.helia; i++) {
          try {
            await f.helia.stat(f.heliaRoot, { path: 'missing' });
          } catch {
            // NotFoundError, checked above
          }
        }
      },
    },
    5,
  );
  const us = (k: keyof typeof N): number => (t[k]! * 1000) / N[k];
  ctx.rows.push({
    operation: 'stat a missing path (ENOENT), 10k-file tree',
    cafs: fmt.us(us('cafs')),
    memfs: fmt.us(us('memfs')),
    tmpfs: fmt.us(us('tmpfs')),
    helia: fmt.us(us('helia')),
    ratio: vsMemfs(us('cafs'), us('memfs')),
    target: '< 3 µs',
    met: us('cafs') < 3,
  });
}

/** 5 (10k files). A snapshot: cafs keeps the root hash; memfs deep-copies (toJSON), tmpfs `cp -a`. */
async function snapshot10k(ctx: Ctx, f: Fixtures): Promise<void> {
  progress('snapshot of the 10k-file trees: keep the root vs memfs toJSON vs cp -a');
  const before = await storeUsage(f.cafs.store);
  const snapshots: Hash[] = [];
  const cafsUs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    snapshots.push(f.cafsRoot); // the whole snapshot: the root is a value
    cafsUs.push((performance.now() - t0) * 1000);
  }
  const after = await storeUsage(f.cafs.store);
  // The live tree moves on; the snapshot still reads the old bytes.
  const live = await f.cafs.writeFile(f.cafsRoot, filePath(0), 'changed after the snapshot');
  check(equalBytes(await f.cafs.readFile(snapshots[0]!, filePath(0)), f.content.subarray(0, FILE_BYTES)), 'the snapshot keeps the old content');
  check((await f.cafs.readFile(live, filePath(0))).length === 26, 'the live root has the new content');
  const afterWrite = await storeGrowth(f.cafs.store, after);

  let memfsBytes = 0;
  let tmpfsBytes = 0;
  let copies = 0;
  const t = await sideBySide(
    {
      memfs: async () => {
        const t0 = performance.now();
        const json = f.vol.toJSON(undefined, {}, false, true) as Record<string, Buffer | null>;
        const ms = performance.now() - t0;
        let n = 0;
        for (const [k, v] of Object.entries(json)) n += k.length + (v?.length ?? 0);
        memfsBytes = n;
        return ms;
      },
      tmpfs: async () => {
        const dst = path.join(ctx.tmp, `snap${copies++}`);
        const t0 = performance.now();
        execFileSync('cp', ['-a', f.tmpDir, dst]);
        const ms = performance.now() - t0;
        tmpfsBytes = duBytes(dst);
        await nfs.rm(dst, { recursive: true });
        return ms;
      },
    },
    3,
  );
  const grew = after.bytes - before.bytes;
  ctx.rows.push({
    operation: `snapshot of the ${fmt.int(FILES)}-file tree: added / time`,
    cafs: `${size(grew)} / ${fmt.us(median(cafsUs))}`,
    memfs: `${size(memfsBytes)} / ${fmt.ms(t.memfs!)}`,
    tmpfs: `${size(tmpfsBytes)} / ${fmt.ms(t.tmpfs!)}`,
    target: '0 B, O(1)',
    met: grew === 0 && after.blobs === before.blobs,
  });
  ctx.notes.push(
    `snapshot: cafs store ${fmt.int(before.blobs)} blobs / ${size(before.bytes)} before and ${fmt.int(after.blobs)} / ${size(after.bytes)} after ` +
      `(a snapshot is the root hash kept); the first write to the live tree after it added ${afterWrite.blobs} blobs / ${size(afterWrite.bytes)} ` +
      `and the snapshot still reads the old bytes. memfs: vol.toJSON(.., asBuffer) deep copy (bytes = content + path strings); tmpfs: cp -a, du -sb of the copy`,
  );
}

/** 7. Rename of a directory holding 10k files. */
async function renameDir(ctx: Ctx, f: Fixtures): Promise<void> {
  progress('rename a directory of 10k files');
  const heliaDir = (await f.helia.stat(f.heliaRoot, { path: DIR.slice(1) })).cid;
  let cafsRoot: Hash | undefined;
  const t = await sideBySide(
    {
      cafs: async () => {
        cafsRoot = await f.cafs.rename(f.cafsRoot, DIR, '/e');
      },
      memfs: async (round) => {
        const [a, b] = round % 2 === 0 ? [DIR, '/e'] : ['/e', DIR];
        await f.vol.promises.rename(a, b);
      },
      tmpfs: async (round) => {
        const [a, b] = round % 2 === 0 ? [DIR, '/e'] : ['/e', DIR];
        await nfs.rename(f.tmpDir + a, f.tmpDir + b);
      },
      helia: async () => {
        const withE = await f.helia.cp(heliaDir, f.heliaRoot, 'e');
        await f.helia.rm(withE, DIR.slice(1));
      },
    },
    5,
  );
  check((await f.cafs.stat(cafsRoot!, '/e/f9999')).size === BigInt(FILE_BYTES), 'cafs rename moved the files');
  check(!(await f.cafs.exists(cafsRoot!, DIR)), 'cafs rename removed the old name');
  ctx.rows.push({
    operation: `rename a directory holding ${fmt.int(FILES)} files`,
    cafs: fmt.ms(t.cafs!),
    memfs: fmt.ms(t.memfs!),
    tmpfs: fmt.ms(t.tmpfs!),
    helia: fmt.ms(t.helia!),
    ratio: vsMemfs(t.cafs!, t.memfs!),
  });
  ctx.notes.push('rename: helia = cp(dirCid, root, "e") + rm(root, "d") (two root rewrites); memfs/tmpfs rename back and forth');
}

/** 3. One 5 MiB file written and read. */
async function mediumFile(ctx: Ctx): Promise<void> {
  progress('one 5 MiB file: write and read');
  const SIZE = 5 * MiB;
  const data = pseudoRandom(SIZE, 3);
  let cafs!: { fs: Fs; root: Hash };
  let vol!: Volume;
  let helia!: { h: UnixFS; cid: Cid };
  const file = path.join(ctx.tmp, 'five');
  const w = await sideBySide(
    {
      cafs: async () => {
        const fs = new Fs(new MemoryBlobStore());
        const root0 = await fs.mkfs();
        const t0 = performance.now();
        const root = await fs.writeFile(root0, '/f', data);
        const ms = performance.now() - t0;
        cafs = { fs, root };
        return ms;
      },
      memfs: async () => {
        const v = new Volume();
        const t0 = performance.now();
        await v.promises.writeFile('/f', data);
        const ms = performance.now() - t0;
        vol = v;
        return ms;
      },
      tmpfs: () => nfs.writeFile(file, data),
      helia: async () => {
        const h = unixfs({ blockstore: new MemoryBlockstore() });
        const t0 = performance.now();
        const cid = await h.addBytes(data);
        const ms = performance.now() - t0;
        helia = { h, cid };
        return ms;
      },
    },
    5,
  );
  check(equalBytes(await cafs.fs.readFile(cafs.root, '/f'), data), 'cafs 5 MiB reads back');
  const r = await sideBySide(
    {
      cafs: async () => check((await cafs.fs.readFile(cafs.root, '/f')).length === SIZE, 'cafs size'),
      memfs: async () => check((await vol.promises.readFile('/f')).length === SIZE, 'memfs size'),
      tmpfs: async () => check((await nfs.readFile(file)).length === SIZE, 'tmpfs size'),
      helia: async () => check((await catAll(helia.h, helia.cid)) === SIZE, 'helia size'),
    },
    5,
  );
  for (const [what, t] of [
    ['write', w],
    ['read', r],
  ] as const) {
    ctx.rows.push({
      operation: `${what} one 5 MiB file${what === 'read' ? ' (readFile; helia cat)' : ''}`,
      cafs: mbps(SIZE, t.cafs!),
      memfs: mbps(SIZE, t.memfs!),
      tmpfs: mbps(SIZE, t.tmpfs!),
      helia: mbps(SIZE, t.helia!),
      ratio: vsMemfs(t.cafs!, t.memfs!),
    });
  }
  await nfs.rm(file);
}

/** 4 and 8. One 256 MiB file, raw SHA-256 of it, and what re-imports add to the store. */
async function bigFile(ctx: Ctx): Promise<void> {
  const SIZE = 256 * MiB;
  progress('one 256 MiB file: write vs raw SHA-256 (node:crypto, 1 MiB pieces)');
  const data = pseudoRandom(SIZE, 4);
  let cafs!: { fs: Fs; root: Hash };
  let vol!: Volume;
  let helia!: { h: UnixFS; bs: MemoryBlockstore; cid: Cid };
  const file = path.join(ctx.tmp, 'big');
  let digest = '';
  // CPU time of the whole process (every thread: cafs hashes on a worker) per round.
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const cpu = { cafs: [] as number[], sha: [] as number[] };
  const w = await sideBySide(
    {
      cafs: async () => {
        cafs = undefined as never;
        gc();
        const fs = new Fs(new MemoryBlobStore());
        const root0 = await fs.mkfs();
        const c0 = cpuMs();
        const t0 = performance.now();
        const root = await fs.writeFile(root0, '/big', data);
        const ms = performance.now() - t0;
        cpu.cafs.push(cpuMs() - c0);
        cafs = { fs, root };
        return ms;
      },
      sha: async () => {
        const c0 = cpuMs();
        const h = createHash('sha256');
        for (let at = 0; at < SIZE; at += MiB) h.update(data.subarray(at, at + MiB));
        digest = h.digest('hex');
        cpu.sha.push(cpuMs() - c0);
      },
      memfs: async () => {
        vol = undefined as never;
        gc();
        const v = new Volume();
        const t0 = performance.now();
        await v.promises.writeFile('/big', data);
        const ms = performance.now() - t0;
        vol = v;
        return ms;
      },
      tmpfs: () => nfs.writeFile(file, data),
      helia: async () => {
        helia = undefined as never;
        gc();
        const bs = new MemoryBlockstore();
        const h = unixfs({ blockstore: bs });
        const t0 = performance.now();
        const cid = await h.addBytes(data);
        const ms = performance.now() - t0;
        helia = { h, bs, cid };
        return ms;
      },
    },
    5,
  );
  check(digest.length === 64, 'sha-256 ran');
  check(equalBytes(await cafs.fs.readFile(cafs.root, '/big'), data), 'cafs 256 MiB reads back');

  progress('one 256 MiB file: read (fs.stream and readFile)');
  const r = await sideBySide(
    {
      cafsStream: async () => {
        let n = 0;
        for await (const piece of cafs.fs.stream(cafs.root, '/big')) n += piece.length;
        check(n === SIZE, 'cafs stream size');
      },
      cafsReadFile: async () => check((await cafs.fs.readFile(cafs.root, '/big')).length === SIZE, 'cafs readFile size'),
      copy: async () => {
        const out = new Uint8Array(SIZE);
        out.set(data);
        check(out[SIZE - 1] === data[SIZE - 1], 'copy');
      },
      memfs: async () => check((await vol.promises.readFile('/big')).length === SIZE, 'memfs size'),
      tmpfs: async () => check((await nfs.readFile(file)).length === SIZE, 'tmpfs size'),
      helia: async () => check((await catAll(helia.h, helia.cid)) === SIZE, 'helia size'),
    },
    3,
  );
  const shaRatio = w.sha! / w.cafs!; // cafs MB/s over SHA-256 MB/s
  ctx.notes.push(
    `256 MiB write CPU (all threads of the process; cafs hashes chunks on a worker thread): cafs ${fmt.ms(median(cpu.cafs))}, ` +
      `SHA-256 ${fmt.ms(median(cpu.sha))} (medians incl. the warm-up round); wall ratio ${shaRatio.toFixed(2)}, CPU ratio ${(median(cpu.sha) / median(cpu.cafs)).toFixed(2)}`,
  );
  ctx.rows.push(
    {
      operation: 'write one 256 MiB file',
      cafs: mbps(SIZE, w.cafs!),
      memfs: mbps(SIZE, w.memfs!),
      tmpfs: mbps(SIZE, w.tmpfs!),
      helia: mbps(SIZE, w.helia!),
      ratio: `${shaRatio.toFixed(2)} of SHA-256`,
      target: '>= 0.5 x raw SHA-256',
      met: shaRatio >= 0.5,
    },
    { operation: '  reference: raw SHA-256 of the same bytes', cafs: mbps(SIZE, w.sha!), memfs: '', tmpfs: '', helia: '' },
    {
      operation: 'read it: fs.stream (pieces counted; helia cat)',
      cafs: mbps(SIZE, r.cafsStream!),
      helia: mbps(SIZE, r.helia!),
      target: '> 1 GB/s',
      met: SIZE / 1e6 / r.cafsStream! > 1,
    },
    {
      operation: 'read it: readFile (one 256 MiB buffer)',
      cafs: mbps(SIZE, r.cafsReadFile!),
      memfs: mbps(SIZE, r.memfs!),
      tmpfs: mbps(SIZE, r.tmpfs!),
      ratio: vsMemfs(r.cafsReadFile!, r.memfs!),
      target: '> 1 GB/s',
      met: SIZE / 1e6 / r.cafsReadFile! > 1,
    },
    { operation: '  reference: new Uint8Array(256 MiB) + set (a bare copy)', cafs: mbps(SIZE, r.copy!), memfs: '', tmpfs: '', helia: '' },
  );

  // 8. What importing the same bytes again, and the bytes with one more in the middle, adds.
  progress('256 MiB re-imported, and with one byte inserted in the middle: store growth');
  const { fs } = cafs;
  const mid = SIZE / 2;
  const inserted = Buffer.concat([data.subarray(0, mid), Buffer.of(0x42), data.subarray(mid)]);
  const u0 = await storeUsage(fs.store);
  let ms = await timed(async () => (cafs.root = await fs.writeFile(cafs.root, '/big', data)));
  const same = await storeGrowth(fs.store, u0);
  const sameMs = ms;
  const u1 = await storeUsage(fs.store);
  let copyRoot!: Hash;
  ms = await timed(async () => (copyRoot = await fs.writeFile(cafs.root, '/copy', data)));
  const copy = await storeGrowth(fs.store, u1);
  const copyMs = ms;
  check(equalBytes(await fs.readFile(copyRoot, '/copy'), data), 'cafs copy reads back');
  const u2 = await storeUsage(fs.store);
  let insRoot!: Hash;
  ms = await timed(async () => (insRoot = await fs.writeFile(cafs.root, '/big', inserted)));
  const ins = await storeGrowth(fs.store, u2);
  const insMs = ms;
  check(equalBytes(await fs.readFile(insRoot, '/big'), inserted), 'cafs file with the inserted byte reads back');

  // Peers: memfs (bytes in its files), tmpfs (du), helia (blockstore bytes), the same three
  // steps. cafs keeps the old version (the old root) at no cost; memfs and tmpfs keep it only
  // as another file, so each new version goes to a new path there.
  const m0 = memfsBytes(vol);
  await vol.promises.writeFile('/v2', data);
  const m1 = memfsBytes(vol);
  await vol.promises.writeFile('/copy', data);
  const m2 = memfsBytes(vol);
  await vol.promises.writeFile('/v3', inserted);
  const m3 = memfsBytes(vol);
  const tmpDir = path.join(ctx.tmp, 'growth');
  await nfs.mkdir(tmpDir);
  await nfs.writeFile(path.join(tmpDir, 'big'), data);
  const d0 = duBytes(tmpDir);
  await nfs.writeFile(path.join(tmpDir, 'v2'), data);
  const d1 = duBytes(tmpDir);
  await nfs.writeFile(path.join(tmpDir, 'copy'), data);
  const d2 = duBytes(tmpDir);
  await nfs.writeFile(path.join(tmpDir, 'v3'), inserted);
  const d3 = duBytes(tmpDir);
  await nfs.rm(tmpDir, { recursive: true });
  const hb0 = await blockstoreBytes(helia.bs);
  const againCid = await helia.h.addBytes(data);
  check(againCid.equals(helia.cid), 'helia re-import gives the same CID');
  const hb1 = await blockstoreBytes(helia.bs);
  await helia.h.cp(helia.cid, await helia.h.addDirectory(), 'copy');
  const hb2 = await blockstoreBytes(helia.bs);
  await helia.h.addBytes(inserted);
  const hb3 = await blockstoreBytes(helia.bs);
  const plus = (n: number): string => `+${size(n)}`;

  const growth = (g: typeof same): string => `+${size(g.bytes)} (${g.nodeBlobs} nodes, ${g.chunkBlobs} chunks)`;
  ctx.rows.push(
    {
      operation: 'store growth, old kept: same 256 MiB again, same path',
      cafs: growth(same),
      memfs: plus(m1 - m0),
      tmpfs: plus(d1 - d0),
      helia: plus(hb1.bytes - hb0.bytes),
      target: '~0: a few tree nodes',
      met: same.chunkBytes === 0 && same.bytes < 64 * KiB,
    },
    {
      operation: 'store growth, old kept: same 256 MiB at a new path',
      cafs: growth(copy),
      memfs: plus(m2 - m1),
      tmpfs: plus(d2 - d1),
      helia: plus(hb2.bytes - hb1.bytes),
      target: '0 B of chunks; tree nodes only',
      met: copy.chunkBytes === 0,
    },
    {
      operation: 'store growth, old kept: 1 byte inserted mid-file',
      cafs: growth(ins),
      memfs: plus(m3 - m2),
      tmpfs: plus(d3 - d2),
      helia: plus(hb3.bytes - hb2.bytes),
      target: '~1 chunk (64-256 KiB) + nodes',
      met: ins.chunkBlobs <= 2 && ins.chunkBytes <= 512 * KiB,
    },
  );
  ctx.notes.push(
    `store growth (cafs): blobs new to the store after each write, by hash; "chunks" are blobs over ${fmt.int(MAX_NODE_BYTES)} B (the largest tree node), ` +
      `the rest tree nodes. chunks: same-path ${size(same.chunkBytes)}, new path ${size(copy.chunkBytes)}, insert ${size(ins.chunkBytes)} in ${ins.chunkBlobs}; ` +
      `nodes: ${size(same.nodeBytes)}, ${size(copy.nodeBytes)}, ${size(ins.nodeBytes)}. Write times: same bytes again ${mbps(SIZE, sameMs)}, ` +
      `at a new path ${mbps(SIZE, copyMs)}, with the insert ${mbps(SIZE, insMs)}. store before: ${fmt.int(u0.blobs)} blobs, ${size(u0.bytes)}`,
    `store growth peers: cafs keeps every old version (old roots) for free, so to keep the old version too memfs and tmpfs ` +
      `write each new version to a new file; memfs = bytes in the volume's files, tmpfs = du -sb of a directory holding the same files, ` +
      `helia = bytes in its MemoryBlockstore (same bytes: addBytes again; new path: cp of the file CID into a new directory; ` +
      `insert: addBytes, fixed-size chunks, so everything after the insert is new)`,
  );
  await nfs.rm(file);
}

/** 6. Diff of two 100k-file trees differing in 10 files, vs a naive walk of two memfs volumes. */
async function diffTrees(ctx: Ctx): Promise<void> {
  const N = 100_000;
  const PER_DIR = 1000;
  const CHANGED = 10;
  progress(`diff: two ${fmt.int(N)}-file trees differing in ${CHANGED} files (cafs fs.diff vs a memfs walk)`);
  const pool = pseudoRandom(N * 100 + 4096, 6);
  const name = (i: number): string => `/t/d${Math.floor(i / PER_DIR)}/f${i % PER_DIR}`;
  const body = (i: number): Uint8Array => pool.subarray(i * 100, i * 100 + 100);
  const changed = Array.from({ length: CHANGED }, (_, k) => (k * 9973 + 17) % N);
  const newBody = (k: number): Uint8Array => pool.subarray(N * 100 + k * 100, N * 100 + k * 100 + 100);

  const fs = new Fs(new MemoryBlobStore());
  let a!: Hash;
  const buildMs = await timed(async () => {
    const b = fs.batch(await fs.mkfs());
    await b.mkdir('/t');
    for (let i = 0; i < N; i++) {
      if (i % PER_DIR === 0) await b.mkdir(`/t/d${i / PER_DIR}`);
      await b.writeFile(name(i), body(i));
    }
    a = await b.flush();
  });
  const b = fs.batch(a);
  for (let k = 0; k < CHANGED; k++) await b.writeFile(name(changed[k]!), newBody(k));
  const bRoot = await b.flush();

  const volA = new Volume();
  const volB = new Volume();
  for (const [v, alt] of [
    [volA, false],
    [volB, true],
  ] as const) {
    v.mkdirSync('/t');
    for (let i = 0; i < N; i++) {
      if (i % PER_DIR === 0) v.mkdirSync(`/t/d${i / PER_DIR}`);
      v.writeFileSync(name(i), body(i));
    }
    if (alt) for (let k = 0; k < CHANGED; k++) v.writeFileSync(name(changed[k]!), newBody(k));
  }
  const naive = (dir: string, out: string[]): void => {
    const left = (volA.readdirSync(dir) as string[]).sort();
    const right = new Set(volB.readdirSync(dir) as string[]);
    for (const n of left) {
      const p = `${dir}/${n}`;
      if (!right.has(n)) {
        out.push(p);
        continue;
      }
      right.delete(n);
      const sa = volA.statSync(p);
      if (sa.isDirectory()) naive(p, out);
      else if (!(volA.readFileSync(p) as Buffer).equals(volB.readFileSync(p) as Buffer)) out.push(p);
    }
    for (const n of right) out.push(`${dir}/${n}`);
  };

  let cafsChanges: { op: string; path: string }[] = [];
  let memfsChanges: string[] = [];
  const t = await sideBySide(
    {
      cafs: async () => {
        const out: { op: string; path: string }[] = [];
        for await (const c of fs.diff(a, bRoot)) out.push({ op: c.op, path: c.path });
        cafsChanges = out;
      },
      memfs: async () => {
        const out: string[] = [];
        naive('/t', out);
        memfsChanges = out;
      },
    },
    3,
  );
  const expected = changed.map(name).sort();
  const got = cafsChanges.map((c) => c.path).sort();
  const exact = got.length === CHANGED && got.every((p, i) => p === expected[i]) && cafsChanges.every((c) => c.op === 'change');
  check(memfsChanges.length === CHANGED, `the naive walk finds the ${CHANGED} changed files`);
  ctx.rows.push({
    operation: `diff two ${fmt.int(N)}-file trees, ${CHANGED} files differ`,
    cafs: `${fmt.ms(t.cafs!)} (${cafsChanges.length} changes)`,
    memfs: `${fmt.ms(t.memfs!)} (${memfsChanges.length})`,
    ratio: vsMemfs(t.cafs!, t.memfs!),
    target: `${CHANGED} changes, exact`,
    met: exact,
  });
  ctx.notes.push(
    `diff: ${fmt.int(N)} files of 100 B in ${N / PER_DIR} directories (cafs built them in one batch in ${fmt.ms(buildMs)}); ` +
      `memfs = naive recursive walk of both volumes with the sync API comparing every file's bytes`,
  );
}

/** 5 (1M files). Build one huge tree in one batch, then snapshot it: nothing may grow. */
async function snapshotHuge(ctx: Ctx): Promise<void> {
  const PER_DIR = 1000;
  const build = async (n: number, fs: Fs): Promise<{ root: Hash; ms: number }> => {
    const pool = pseudoRandom(64 * KiB, 5);
    const t0 = performance.now();
    const b = fs.batch(await fs.mkfs());
    await b.mkdir('/s');
    for (let i = 0; i < n; i++) {
      if (i % PER_DIR === 0) await b.mkdir(`/s/d${i / PER_DIR}`);
      const c = pool.slice((i * 97) % (64 * KiB - 100), ((i * 97) % (64 * KiB - 100)) + 100);
      c.writeUInt32BE(i, 0);
      await b.writeFile(`/s/d${Math.floor(i / PER_DIR)}/f${i % PER_DIR}`, c);
    }
    const root = await b.flush();
    return { root, ms: performance.now() - t0 };
  };
  let n = ctx.cfg.snapshotFiles;
  let why = '--snapshot-files';
  if (n === undefined) {
    // A probe decides between 1M and 300k: the whole 1M build must stay under 2 minutes.
    const probe = await build(50_000, new Fs(new MemoryBlobStore()));
    const projected = (probe.ms / 50_000) * 1_000_000 * 1.3; // batches grow a little worse than linearly
    n = projected > 120_000 ? 300_000 : 1_000_000;
    why = `a 50k-file probe took ${fmt.ms(probe.ms)}, projecting ${fmt.ms(projected)} for 1M`;
    gc();
  }
  progress(`snapshot at ${fmt.int(n)} files: build them in one batch (${why})`);
  const fs = new Fs(new MemoryBlobStore());
  const { root, ms } = await build(n, fs);
  gc();
  const heapMb = process.memoryUsage().heapUsed / MiB;
  const before = await storeUsage(fs.store);
  const t0 = performance.now();
  const snapshot: Hash = root; // the snapshot
  const snapUs = (performance.now() - t0) * 1000;
  const after = await storeUsage(fs.store);
  const live = await fs.writeFile(root, '/s/d0/f0', 'after the snapshot');
  const firstWrite = await storeGrowth(fs.store, after);
  check((await fs.readFile(snapshot, '/s/d0/f0')).length === 100, 'the snapshot keeps the old file');
  check((await fs.stat(live, '/s/d0/f0')).size === 18n, 'the live tree moved on');
  const last = n - 1;
  check((await fs.stat(snapshot, `/s/d${Math.floor(last / PER_DIR)}/f${last % PER_DIR}`)).size === 100n, 'the last file is there');
  const grew = after.bytes - before.bytes;
  const note = n === 1_000_000 ? '' : ` (NOT 1M: ${why})`;
  ctx.rows.push(
    {
      operation: `build ${fmt.int(n)} files of 100 B in one batch${note}`,
      cafs: filesPerSec(n, ms),
    },
    {
      operation: `snapshot of the ${fmt.int(n)}-file tree: added / time`,
      cafs: `${size(grew)} / ${fmt.us(snapUs)}`,
      target: '0 B, O(1) (must not grow)',
      met: grew === 0 && after.blobs === before.blobs,
    },
  );
  ctx.notes.push(
    `${fmt.int(n)}-file tree: ${fmt.int(before.blobs)} blobs, ${size(before.bytes)} in the store (100-byte files are inline in the tree); ` +
      `heap after the build ${heapMb.toFixed(0)} MiB; after the snapshot ${fmt.int(after.blobs)} blobs, ${size(after.bytes)}; ` +
      `the first write to the live tree then added ${firstWrite.blobs} blobs / ${size(firstWrite.bytes)}${note}`,
  );
  await fs.store.close();
}

export async function runFs(args: readonly string[]): Promise<void> {
  const cfg = parseFsArgs(args);
  const started = performance.now();
  let base = '/dev/shm';
  let onTmpfs = true;
  try {
    onTmpfs = statfsSync(base).type === 0x01021994; // TMPFS_MAGIC
  } catch {
    base = os.tmpdir();
    onTmpfs = false;
  }
  const tmp = await nfs.mkdtemp(path.join(base, 'cafs-bench-fs-'));
  console.log(
    `fs suite: node ${process.version}; cafs = @cafs/fs, default options, MemoryBlobStore; memfs ${'promises API'}; ` +
      `tmpfs = node:fs/promises in ${tmp}${onTmpfs ? '' : ' (NOT tmpfs: /dev/shm unavailable)'}; helia = @helia/unixfs on blockstore-core MemoryBlockstore`,
  );
  const ctx: Ctx = { cfg, tmp, rows: [], notes: [] };
  const meter = new BusyMeter(mark, othersShareSince);
  const section = <T>(name: string, fn: () => Promise<T>): Promise<T> => meter.section(name, fn);
  try {
    // The 10k-file trees live only for the parts that use them: a larger live heap makes every
    // later major GC dearer, and cafs writes (allocation-heavy) feel that more than the peers.
    await (async () => {
      const f = await section('10k files', () => manyFiles(ctx));
      await section('stat', () => statMissing(ctx, f));
      await section('snapshot 10k', () => snapshot10k(ctx, f));
      await section('rename', () => renameDir(ctx, f));
      await f.cafs.store.close();
      await nfs.rm(f.tmpDir, { recursive: true });
    })();
    gc();
    await section('5 MiB', () => mediumFile(ctx));
    await section('256 MiB', () => bigFile(ctx));
    gc();
    await section('diff', () => diffTrees(ctx));
    gc();
    await section('snapshot big', () => snapshotHuge(ctx));
  } finally {
    await nfs.rm(tmp, { recursive: true, force: true });
  }
  // Order the rows as the brief lists the operations.
  const order = ['stat', 'write 10', 'read 10', 'write one 5', 'read one 5', 'write one 256', '  reference', 'read it', 'snapshot of the 10', 'build', 'snapshot of the', 'diff', 'rename', 'store growth'];
  const rank = (r: FsRow): number => {
    const i = order.findIndex((p) => r.operation.startsWith(p));
    return i < 0 ? order.length : i;
  };
  const rows = ctx.rows.map((r, i) => ({ r, i })).sort((x, y) => rank(x.r) - rank(y.r) || x.i - y.i).map((x) => x.r);
  const busyNote = meter.note();
  if (busyNote !== undefined) ctx.notes.push(busyNote);

  console.log('');
  meter.warn();
  console.log(formatFsTable(rows));
  console.log('');
  console.log('Medians of interleaved rounds after a warm-up round. ratio: cafs time / memfs time (above 1: cafs slower), or as labelled.');
  for (const n of ctx.notes) console.log(`- ${n}`);
  console.log(`fs suite took ${fmt.ms(performance.now() - started)}; load average at end: ${loadAverage()}`);
}
