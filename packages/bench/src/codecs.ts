// The codecs suite: stored bytes and throughput of the stored-blob codecs (docs/format.md,
// "Stored-blob codecs") on real data, against `tar c | zstd -3` and `tar c | gzip` run as real
// processes on the same tree.
// - data: the workspace's node_modules/.pnpm, and a generated mix (text, structured binary,
//   random) of --mib MiB (default 1024), written under /dev/shm (else os.tmpdir());
// - each codec (plain, zstd:3, sealed, zstd:3+sealed): `cafs init` + `cafs import` as a child
//   process (ingest), then every file read back in this process from a fresh Repo over the
//   LevelDB (read, best of --read-rounds), and `storeStats` for the stored bytes;
// - targets from issue 22: stored within 1.15x of tar|zstd -3; ingest with compression >= 60% of
//   plain; reads >= 70%; encryption <= 25% more time than compression alone.
import { createWriteStream, existsSync } from 'node:fs';
import * as nfs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodecBlobStore, isRawBlobStore, storeStats, type BlobStore, type CodecOpenOptions } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { exec } from './child.js';
import { Prng } from './prng.js';
import { UsageError, fmt, formatGrid, gc, intArg, loadAverage, progress } from './table.js';

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CAFS = path.join(WORKSPACE, 'packages/cli/dist/main.js');
const SECRET = 'cafs bench secret, not for real data';

interface Config {
  mib: number;
  readRounds: number;
  tree: string;
}

function parseArgs(args: readonly string[]): Config {
  const cfg: Config = { mib: 1024, readRounds: 2, tree: path.join(WORKSPACE, 'node_modules/.pnpm') };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--mib') cfg.mib = intArg(a, args[++i], 0);
    else if (a === '--read-rounds') cfg.readRounds = intArg(a, args[++i], 1);
    else if (a === '--tree') {
      const v = args[++i];
      if (v === undefined) throw new UsageError('--tree needs a directory');
      cfg.tree = path.resolve(v);
    } else throw new UsageError(`codecs suite: unknown option ${a} (options: --mib N (0: no generated data), --read-rounds N, --tree DIR)`);
  }
  return cfg;
}

const CODECS: { name: string; init: string[]; open: CodecOpenOptions }[] = [
  { name: 'plain', init: [], open: {} },
  { name: 'zstd:3', init: ['--compress', 'zstd:3'], open: {} },
  { name: 'sealed', init: ['--encrypt'], open: {} },
  { name: 'zstd:3+sealed', init: ['--compress', 'zstd:3', '--encrypt'], open: {} },
];

const WORDS =
  'the of and to in is was that for on with as by at from this be have or are not an which but all were when we there can been has more if no out so said what up its about into than them only other new some could time these two may first then do any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(
    ' ',
  );

/**
 * A deterministic mix: half text (prose-like lines, JSON log lines), a quarter structured
 * binary (little-endian records with slowly changing fields), a quarter random bytes (as
 * JPEGs or archives are to a compressor), in files of 4 KiB to 8 MiB, 64 to a directory.
 */
async function generateMix(dir: string, bytes: number): Promise<void> {
  const rng = new Prng(22);
  let written = 0;
  let n = 0;
  while (written < bytes) {
    const kind = n % 4 < 2 ? 'text' : n % 4 === 2 ? 'binary' : 'random';
    const size = Math.min(bytes - written, rng.logUniform(4096, 8 << 20));
    const sub = path.join(dir, `d${Math.floor(n / 64)}`);
    await nfs.mkdir(sub, { recursive: true });
    const out = createWriteStream(path.join(sub, `f${n}.${kind === 'text' ? 'txt' : 'bin'}`));
    let left = size;
    let line = 0;
    while (left > 0) {
      const piece = Math.min(left, 1 << 20);
      let buf: Buffer;
      if (kind === 'text') {
        let t = '';
        while (t.length < piece) {
          if (line % 3 === 0) t += `{"ts":${1_700_000_000 + line},"level":"${['info', 'warn', 'debug'][rng.below(3)]}","req":${rng.below(100000)},"msg":"${WORDS[rng.below(WORDS.length)]} ${WORDS[rng.below(WORDS.length)]}"}\n`;
          else {
            for (let w = 0; w < 10; w++) t += WORDS[rng.below(WORDS.length)] + ' ';
            t += '\n';
          }
          line++;
        }
        buf = Buffer.from(t).subarray(0, piece);
      } else if (kind === 'binary') {
        buf = Buffer.alloc(piece);
        for (let i = 0; i + 16 <= piece; i += 16) {
          buf.writeUInt32LE(line++, i);
          buf.writeUInt32LE(1000 + (line >>> 6), i + 4);
          buf.writeFloatLE(Math.sin(line / 100), i + 8);
          buf.writeUInt32LE(rng.below(16), i + 12);
        }
      } else {
        buf = rng.bytes(piece);
      }
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      left -= piece;
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    written += size;
    n++;
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await nfs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await nfs.lstat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

/** Bytes and seconds of `tar c DIR | COMPRESSOR`, as one shell pipeline. */
async function tarPipe(dir: string, compressor: string): Promise<{ bytes: number; ms: number }> {
  const r = await exec('bash', ['-c', `set -o pipefail; tar c -C "$1" . 2>/dev/null | ${compressor} | wc -c`, 'bash', dir]);
  return { bytes: Number(r.out.trim()), ms: r.ms };
}

/** Reads every file of the branch's root from a fresh Repo over the repository; bytes read. */
async function readAll(repoDir: string): Promise<number> {
  const repo = await Repo.open({ path: repoDir, codecs: { secret: new TextEncoder().encode(SECRET) } });
  try {
    const root = (await repo.resolve('main')).root;
    let bytes = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
        const p = (dir === '/' ? '' : dir) + '/' + e.name;
        if (e.type === 'directory') await walk(p);
        else if (e.type === 'file') bytes += (await repo.fs.readFile(root, p)).length;
      }
    };
    await walk('/');
    return bytes;
  } finally {
    await repo.close();
  }
}

async function storedOf(repoDir: string): Promise<{ logical: number; stored: number }> {
  const repo = await Repo.open({ path: repoDir, codecs: { secret: new TextEncoder().encode(SECRET) } });
  try {
    let inner: BlobStore = repo.store;
    while (!(inner instanceof CodecBlobStore) && !isRawBlobStore(inner)) inner = (inner as unknown as { inner: BlobStore }).inner;
    const s = await storeStats(inner);
    return { logical: s.logicalBytes, stored: s.storedBytes };
  } finally {
    await repo.close();
  }
}

interface Measured {
  codec: string;
  ingestMs: number;
  readMs: number;
  readBytes: number;
  logical: number;
  stored: number;
  disk: number;
}

async function measureTree(name: string, tree: string, work: string, cfg: Config): Promise<string> {
  const bytes = await dirBytes(tree);
  progress(`${name}: ${(bytes / 2 ** 20).toFixed(0)} MiB in files; tar | zstd -3, tar | gzip`);
  const zstd3 = await tarPipe(tree, 'zstd -3 -c -q');
  const gzip = await tarPipe(tree, 'gzip -c');
  const rows: Measured[] = [];
  for (const c of CODECS) {
    const repoDir = path.join(work, `repo-${c.name.replace(/[:+]/g, '-')}`);
    await nfs.rm(repoDir, { recursive: true, force: true });
    await nfs.mkdir(repoDir);
    const env = { ...process.env, CAFS_KEY: SECRET, CAFS_KEY_FILE: '' };
    await exec(process.execPath, [CAFS, '--repo', repoDir, 'init', ...c.init], { env });
    progress(`${name}: cafs import (${c.name})`);
    const ingest = await exec(process.execPath, [CAFS, '--repo', repoDir, 'import', tree, '-m', 'bench'], { env });
    let readMs = Infinity;
    let readBytes = 0;
    for (let r = 0; r < cfg.readRounds; r++) {
      gc();
      const t0 = performance.now();
      readBytes = await readAll(path.join(repoDir, '.cafs'));
      readMs = Math.min(readMs, performance.now() - t0);
    }
    const { logical, stored } = await storedOf(path.join(repoDir, '.cafs'));
    rows.push({ codec: c.name, ingestMs: ingest.ms, readMs, readBytes, logical, stored, disk: await dirBytes(path.join(repoDir, '.cafs')) });
    await nfs.rm(repoDir, { recursive: true, force: true });
  }
  const mibS = (b: number, ms: number): string => `${((b / 2 ** 20) / (ms / 1000)).toFixed(0)} MiB/s`;
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const plain = rows[0]!;
  const byName = (n: string): Measured => rows.find((r) => r.codec === n)!;
  const grid = formatGrid(
    [
      { title: 'codec' },
      { title: 'stored', right: true },
      { title: 'vs tar|zstd -3', right: true },
      { title: 'LevelDB files', right: true },
      { title: 'ingest', right: true },
      { title: 'vs plain', right: true },
      { title: 'read', right: true },
      { title: 'vs plain', right: true },
    ],
    [
      ...rows.map((r) => [
        r.codec,
        mb(r.stored),
        fmt.ratio(r.stored / zstd3.bytes),
        mb(r.disk),
        mibS(bytes, r.ingestMs),
        `${((plain.ingestMs / r.ingestMs) * 100).toFixed(0)}%`,
        mibS(r.readBytes, r.readMs),
        `${((plain.readMs / r.readMs) * 100).toFixed(0)}%`,
      ]),
      ['tar c | zstd -3', mb(zstd3.bytes), '1.00x', '', mibS(bytes, zstd3.ms), '', '', ''],
      ['tar c | gzip', mb(gzip.bytes), fmt.ratio(gzip.bytes / zstd3.bytes), '', mibS(bytes, gzip.ms), '', '', ''],
    ],
  );
  const z = byName('zstd:3');
  const zs = byName('zstd:3+sealed');
  const check = (what: string, value: string, ok: boolean): string => `  ${ok ? 'met' : 'NOT MET'}: ${what} (${value})`;
  return [
    `${name}: ${fmt.int(bytes)} bytes in files; logical blob bytes ${fmt.int(plain.logical)} (dedup and inline small files)`,
    grid,
    check('stored (zstd:3) within 1.15x of tar | zstd -3', fmt.ratio(z.stored / zstd3.bytes), z.stored <= 1.15 * zstd3.bytes),
    check('ingest with compression >= 60% of plain', `${((plain.ingestMs / z.ingestMs) * 100).toFixed(0)}%`, plain.ingestMs / z.ingestMs >= 0.6),
    check('reads with compression >= 70% of plain', `${((plain.readMs / z.readMs) * 100).toFixed(0)}%`, plain.readMs / z.readMs >= 0.7),
    check('encryption costs <= 25% more than compression alone (ingest)', `+${((zs.ingestMs / z.ingestMs - 1) * 100).toFixed(0)}%`, zs.ingestMs <= 1.25 * z.ingestMs),
    check('encryption costs <= 25% more than compression alone (read)', `+${((zs.readMs / z.readMs - 1) * 100).toFixed(0)}%`, zs.readMs <= 1.25 * z.readMs),
  ].join('\n');
}

export async function runCodecs(args: readonly string[]): Promise<void> {
  const cfg = parseArgs(args);
  for (const tool of ['zstd', 'gzip', 'tar']) {
    try {
      await exec('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new UsageError(`the codecs suite runs \`${tool}\`: install it (apt-get install -y ${tool})`);
    }
  }
  const base = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const work = await nfs.mkdtemp(path.join(base, 'cafs-bench-codecs-'));
  console.log(`load average: ${loadAverage()}; repositories, generated data and tar output under ${base} (tmpfs: CPU-bound figures)`);
  console.log('ingest: `cafs import` as a child process (wall time); read: every file from a fresh Repo in this process, best of ' + cfg.readRounds);
  try {
    console.log('');
    console.log(await measureTree('node_modules/.pnpm', cfg.tree, work, cfg));
    if (cfg.mib > 0) {
      const mix = path.join(work, 'mix');
      progress(`generating ${cfg.mib} MiB of text, binary and random data`);
      await generateMix(mix, cfg.mib * 2 ** 20);
      console.log('');
      console.log(await measureTree(`generated mix (${cfg.mib} MiB)`, mix, work, cfg));
    }
  } finally {
    await nfs.rm(work, { recursive: true, force: true });
  }
}
