// The working-directory index of `cafs import` (issue 23): a stat cache that lets a re-import
// skip reading unchanged files, and never changes which root a tree gets. Each import here runs
// the built CLI with its index in place and is checked against a fresh import of the same tree
// with no index (in process, into a repository in memory).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../packages/kv/dist/node.js';
import { Repo } from '../packages/repo/dist/index.js';
import { importDirectory } from '../packages/cli/dist/import.js';
import { decodeIndex, encodeIndex } from '../packages/cli/dist/worktree-index.js';
import { cafs } from './run-cafs.js';

const work = mkdtempSync(join(tmpdir(), 'cafs-index-'));
const repoDir = join(work, 'repo');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  mkdirSync(repoDir);
  expect((await cafs(repoDir, 'init')).code).toBe(0);
});

interface Imported {
  root: string;
  files: number;
  reused: number;
}

/** `cafs import DIR --json` with the index (and the racy window given, in ms; undefined: the default 2 s). */
async function importIndexed(dir: string, racyMs: number | undefined, ...flags: string[]): Promise<Imported> {
  const saved = process.env['CAFS_INDEX_RACY_MS'];
  if (racyMs === undefined) delete process.env['CAFS_INDEX_RACY_MS'];
  else process.env['CAFS_INDEX_RACY_MS'] = String(racyMs);
  try {
    const r = await cafs(repoDir, 'import', dir, '--json', '--allow-empty', ...flags);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Imported;
  } finally {
    if (saved === undefined) delete process.env['CAFS_INDEX_RACY_MS'];
    else process.env['CAFS_INDEX_RACY_MS'] = saved;
  }
}

/** The root of a fresh import of `dir`, with no index, into a repository in memory. */
async function freshRoot(dir: string, reproducible = false): Promise<string> {
  const repo = await Repo.open();
  try {
    return bytesToHex((await importDirectory(repo, dir, { reproducible })).root);
  } finally {
    await repo.close();
  }
}

const indexFile = (dir: string): string => join(repoDir, '.cafs', 'index', createHash('sha256').update(realpathSync(dir)).digest('hex'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let counter = 0;
/** A file whose mtime is a whole second in the past, so that "the same mtime" can be set again exactly. */
function writeOld(path: string, content: string): void {
  writeFileSync(path, content);
  const t = 1_700_000_000 + (counter++ % 1000);
  utimesSync(path, t, t);
}

/** Regular files under `dir`, relative. */
function filesOf(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(dir, p));
    if (st.isDirectory()) out.push(...filesOf(dir, p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}
function dirsOf(dir: string, rel = ''): string[] {
  const out: string[] = [rel];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    if (lstatSync(join(dir, p)).isDirectory()) out.push(...dirsOf(dir, p));
  }
  return out;
}

type Op =
  | { op: 'create'; at: number; content: string }
  | { op: 'modifySameSize'; at: number; seed: number }
  | { op: 'modifySameMtime'; at: number; seed: number }
  | { op: 'append'; at: number }
  | { op: 'rename'; at: number; to: number }
  | { op: 'chmod'; at: number; mode: number }
  | { op: 'delete'; at: number }
  | { op: 'replaceByDir'; at: number }
  | { op: 'touch'; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), at: fc.nat(), content: fc.string({ maxLength: 40 }) }),
  fc.record({ op: fc.constant('modifySameSize' as const), at: fc.nat(), seed: fc.nat(255) }),
  fc.record({ op: fc.constant('modifySameMtime' as const), at: fc.nat(), seed: fc.nat(255) }),
  fc.record({ op: fc.constant('append' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('chmod' as const), at: fc.nat(), mode: fc.constantFrom(0o600, 0o644, 0o755, 0o700) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replaceByDir' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('touch' as const), at: fc.nat() }),
);

/** Same length, other bytes. */
const scramble = (s: Buffer, seed: number): Buffer => Buffer.from(s.map((b, i) => 0x61 + ((b + seed + i + 1) % 26)));

function apply(src: string, o: Op): void {
  const files = filesOf(src);
  const pick = (n: number): string | undefined => (files.length === 0 ? undefined : files[n % files.length]);
  const f = pick(o.at);
  switch (o.op) {
    case 'create': {
      const dirs = dirsOf(src);
      const d = dirs[o.at % dirs.length]!;
      writeOld(join(src, d, `n${counter}.txt`), o.content);
      return;
    }
    case 'modifySameSize': {
      if (f === undefined) return;
      const p = join(src, f);
      writeFileSync(p, scramble(readFileSync(p), o.seed));
      return;
    }
    case 'modifySameMtime': {
      // Same size, and the mtime put back exactly as it was: only the ctime tells.
      if (f === undefined) return;
      const p = join(src, f);
      const st = lstatSync(p);
      writeFileSync(p, scramble(readFileSync(p), o.seed));
      utimesSync(p, st.atime, st.mtime);
      return;
    }
    case 'append':
      if (f !== undefined) writeFileSync(join(src, f), 'more', { flag: 'a' });
      return;
    case 'rename': {
      if (f === undefined) return;
      const g = pick(o.to)!;
      // Onto another file (replacing it) or to a new name.
      renameSync(join(src, f), g !== f ? join(src, g) : join(src, `${f}.moved`));
      return;
    }
    case 'chmod':
      if (f !== undefined) chmodSync(join(src, f), o.mode);
      return;
    case 'delete':
      if (f !== undefined) rmSync(join(src, f));
      return;
    case 'replaceByDir':
      if (f === undefined) return;
      rmSync(join(src, f));
      mkdirSync(join(src, f));
      writeOld(join(src, f, 'inside'), 'inside ' + f);
      return;
    case 'touch':
      if (f !== undefined) utimesSync(join(src, f), 1_600_000_000 + o.at, 1_600_000_000 + o.at);
      return;
  }
}

describe('import with the working-directory index', () => {
  it('gives the root a fresh import gives, whatever edits came between (property)', async () => {
    let run = 0;
    let reused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 3 }), fc.boolean(), async (ops, reproducible) => {
        const src = join(work, `p${run++}`);
        mkdirSync(join(src, 'a', 'b'), { recursive: true });
        for (const [i, p] of ['x.txt', 'y.txt', 'a/z.txt', 'a/b/w.txt', 'a/b/v.txt'].entries()) writeOld(join(src, p), `content ${i} ${p}\n`);
        const flags = reproducible ? ['--reproducible'] : [];
        // A narrow racy window (the tree's files are all new): most unchanged files are reused.
        const first = await importIndexed(src, 30, ...flags);
        expect(first.root).toBe(await freshRoot(src, reproducible));
        for (const o of ops) {
          apply(src, o);
          const r = await importIndexed(src, 30, ...flags);
          expect(r.root, JSON.stringify(o)).toBe(await freshRoot(src, reproducible));
          reused += r.reused;
        }
      }),
      { numRuns: 12 },
    );
    // The index was used (else this proves nothing about it).
    expect(reused).toBeGreaterThan(0);
  }, 120_000);

  it('detects a corrupted or a truncated index and rebuilds it', async () => {
    const src = join(work, 'corrupt');
    mkdirSync(join(src, 'd'), { recursive: true });
    for (let i = 0; i < 20; i++) writeOld(join(src, 'd', `f${i}`), `file ${i}\n`);
    await importIndexed(src, 30);
    await sleep(100);
    const good = await importIndexed(src, 30);
    expect(good.reused).toBe(20);
    const file = indexFile(src);
    expect(decodeIndex(readFileSync(file))).toBeDefined();

    // Every file changed (same sizes, mtimes put back), and the index then damaged: were it
    // trusted it would give the old root.
    for (let i = 0; i < 20; i++) apply(src, { op: 'modifySameMtime', at: i, seed: 7 });
    const fresh = await freshRoot(src);
    expect(fresh).not.toBe(good.root);
    const bytes = readFileSync(file);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5]! ^= 0x01;
    writeFileSync(file, flipped);
    expect(decodeIndex(flipped)).toBeUndefined();
    const a = await importIndexed(src, 30);
    expect(a).toMatchObject({ root: fresh, reused: 0 });
    expect(decodeIndex(readFileSync(file))).toBeDefined(); // rebuilt

    await sleep(100);
    for (let i = 0; i < 20; i++) apply(src, { op: 'modifySameMtime', at: i, seed: 11 });
    const fresh2 = await freshRoot(src);
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    expect(decodeIndex(readFileSync(file))).toBeUndefined();
    const b = await importIndexed(src, 30);
    expect(b).toMatchObject({ root: fresh2, reused: 0 });
    expect(decodeIndex(readFileSync(file))).toBeDefined();
    // And the rebuilt index is used.
    await sleep(100);
    expect(await importIndexed(src, 30)).toMatchObject({ root: fresh2, reused: 20 });

    // An index whose root is no branch head's (garbage collection may have removed it): the files are read.
    const idx = decodeIndex(readFileSync(file))!;
    writeFileSync(file, encodeIndex({ ...idx, root: new Uint8Array(32).fill(7) }));
    expect(await importIndexed(src, 30)).toMatchObject({ root: fresh2, reused: 0 });
  }, 60_000);

  it('reports an unchanged re-import as reused, with the same root (default racy window)', async () => {
    const src = join(work, 'unchanged');
    mkdirSync(join(src, 's'), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(src, 's', `f${i}`), `file ${i}\n`.repeat(i));
    writeFileSync(join(src, 'big'), Buffer.alloc(3 << 20, 1)); // streamed, not read whole
    // Files changed less than 2 s before an import are racy: read again next time.
    await sleep(2100);
    const first = await importIndexed(src, undefined);
    const again = await importIndexed(src, undefined);
    expect(again.root).toBe(first.root);
    expect(again.root).toBe(await freshRoot(src));
    expect(again.reused).toBe(31);
    expect(again.files).toBe(31);
    // --no-index reads everything, and gives the same root.
    expect(await importIndexed(src, undefined, '--no-index')).toMatchObject({ root: first.root, reused: 0 });
    // --reproducible does not take entries from an index of a plain import, nor the other way.
    const repro = await importIndexed(src, undefined, '--reproducible');
    expect(repro).toMatchObject({ root: await freshRoot(src, true), reused: 0 });
    expect(await importIndexed(src, undefined, '--reproducible')).toMatchObject({ root: repro.root, reused: 31 });
    // Once the branch has moved on to another tree, the index's root is no head's: not used
    // (gc may have collected it), and the next import is indexed again.
    const other = join(work, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'o'), 'o');
    await importIndexed(other, undefined);
    expect(await importIndexed(src, undefined, '--reproducible')).toMatchObject({ root: repro.root, reused: 0 });
    expect(await importIndexed(src, undefined, '--reproducible')).toMatchObject({ root: repro.root, reused: 31 });
  }, 60_000);

  it('re-reads a racy file even when its stat is unchanged', async () => {
    // A timestamp tick coarse enough that a change leaves size, mtime and ctime as they were is
    // simulated: the file changes, and the index is made to record its new stat as if read before.
    const src = join(work, 'racy');
    mkdirSync(src);
    writeOld(join(src, 'f'), 'version one\n');
    writeOld(join(src, 'g'), 'other file\n');
    // On a branch of its own, so that its root stays a head (an index's root must be one).
    await importIndexed(src, undefined, '--branch', 'racy-v1');
    const file = indexFile(src);
    const before = lstatSync(join(src, 'f'));
    writeFileSync(join(src, 'f'), 'version two\n');
    utimesSync(join(src, 'f'), before.atime, before.mtime); // the same size and mtime
    const st = lstatSync(join(src, 'f'), { bigint: true });
    const idx = decodeIndex(readFileSync(file))!;
    const key = Buffer.from('/f').toString('latin1');
    const forged = { ...idx, entries: new Map(idx.entries) };
    forged.entries.set(key, { size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) });
    // Written in the same tick as the change: racy, read again.
    writeFileSync(file, encodeIndex({ ...forged, startedNs: st.ctimeNs, writtenNs: st.ctimeNs }));
    const fresh = await freshRoot(src);
    expect((await importIndexed(src, undefined)).root).toBe(fresh);
    // The control: the same forged index written long after the change is trusted (and so
    // gives the old content), which is why the racy rule matters.
    writeFileSync(file, encodeIndex({ ...forged, startedNs: st.ctimeNs + 3_600_000_000_000n, writtenNs: st.ctimeNs + 3_600_000_000_000n }));
    const trusted = await importIndexed(src, undefined, '--branch', 'racy-control');
    expect(trusted.reused).toBeGreaterThanOrEqual(1);
    expect(trusted.root).not.toBe(fresh);
    expect(existsSync(file)).toBe(true);
  }, 60_000);
});
