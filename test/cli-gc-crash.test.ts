// Issue 27: a `cafs gc --keep-last 3` killed (SIGKILL) at any instant leaves a repository that
// fsck calls clean, whose every logged commit reads completely, and which the next gc brings to
// exactly the state an uninterrupted collection gives.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repo, fsck } from '../packages/repo/dist/index.js';
import { bytesToHex } from '../packages/kv/dist/node.js';
import { BIN } from './run-cafs.js';
import { readTree } from './read-tree.js';

const COMMITS = 300;
const KEEP = 3;
const RUNS = 56;

let work: string;
let fixture: string;
let reference: { hashes: string[]; names: string[] };
/** How long an uninterrupted `cafs gc` takes from its first phase line to its exit, in ms. */
let tailMs = 0;

/** Sorted hashes and names of a repository directory (the whole state a collection leaves). */
async function snapshot(dir: string): Promise<{ hashes: string[]; names: string[] }> {
  const repo = await Repo.open({ path: dir });
  try {
    const hashes: string[] = [];
    for await (const h of repo.store.hashes()) hashes.push(bytesToHex(h));
    const names: string[] = [];
    for await (const [n, h] of repo.names.list('')) names.push(`${n}=${bytesToHex(h)}`);
    return { hashes: hashes.sort(), names: names.sort() };
  } finally {
    await repo.close();
  }
}

/** Runs the collection; with `kill`, SIGKILLs it when `kill(line, msSinceFirstLine)` says so. */
function runGc(dir: string, kill?: { afterLine?: RegExp; delayMs: number }): Promise<{ killed: boolean; tailMs: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'gc', '--keep-last', String(KEEP), '--verbose', '--repo', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let first = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), kill!.delayMs);
    };
    if (kill !== undefined && kill.afterLine === undefined) arm();
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (first === 0) first = performance.now();
      if (kill?.afterLine !== undefined && kill.afterLine.test(err)) arm();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === null && code !== 0) reject(new Error(`gc exited ${code}: ${err}`));
      else resolve({ killed: signal === 'SIGKILL', tailMs: first === 0 ? 0 : performance.now() - first, code });
    });
  });
}

/** fsck clean; every commit log lists (from every branch and tag) reads completely. */
async function checkReadable(dir: string): Promise<number> {
  const repo = await Repo.open({ path: dir });
  try {
    const report = await fsck(repo);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    let commits = 0;
    for (const ref of ['main', 'side', 'v1']) {
      for await (const e of repo.log(ref)) {
        commits++;
        await readTree(repo, e.commit.root, '/');
      }
    }
    return commits;
  } finally {
    await repo.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-gc-crash-'));
  fixture = join(work, 'fixture');
  const repo = await Repo.open({ path: fixture });
  await repo.init();
  let dirs = (await repo.resolve('main')).root;
  for (let d = 0; d < 6; d++) dirs = await repo.fs.mkdir(dirs, `/d${d}`);
  await repo.commit('main', dirs, 'dirs');
  // A linear main with a few hundred commits over a 60-file tree (each one a new file version),
  // a branch forked in the middle, and a tag on an old commit.
  for (let i = 0; i < COMMITS; i++) {
    const head = await repo.resolve('main');
    const data = new Uint8Array(2000 + (i % 7) * 300).fill(i % 251);
    data[0] = i & 255;
    data[1] = i >> 8;
    const root = await repo.fs.writeFile(head.root, `/d${i % 6}/f${i % 60}.bin`, data);
    await repo.commit('main', root, `c${i}`);
    if (i === 120) await repo.createTag('v1', 'main');
    if (i === 150) await repo.createBranch('side', 'main');
  }
  for (let i = 0; i < 20; i++) {
    const head = await repo.resolve('side');
    await repo.commit('side', await repo.fs.writeFile(head.root, `/side${i % 5}`, `side ${i}`), `s${i}`);
  }
  await repo.close();
  const ref = join(work, 'reference');
  cpSync(fixture, ref, { recursive: true });
  const r = await runGc(ref);
  tailMs = r.tailMs;
  reference = await snapshot(ref);
  expect(await checkReadable(ref)).toBe(3 * KEEP);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('gc killed at any instant', () => {
  it(`${RUNS} SIGKILLs after each phase and at random times: fsck clean, history readable, the next gc converges`, async () => {
    // After each phase line, at once and a little later, then at random points of the whole run.
    const plans: { afterLine?: RegExp; delayMs: number }[] = [];
    for (const line of [/history cut/, /mark done/, /sweep done/]) for (const delayMs of [0, 2, 5, 10]) plans.push({ afterLine: line, delayMs });
    let seed = 27;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    while (plans.length < RUNS) {
      plans.push(plans.length % 2 === 0 ? { afterLine: /history cut/, delayMs: Math.floor(rnd() * (tailMs + 20)) } : { delayMs: 150 + Math.floor(rnd() * 900) });
    }
    let killed = 0;
    for (const [i, plan] of plans.entries()) {
      const dir = join(work, `run${i}`);
      cpSync(fixture, dir, { recursive: true });
      const r = await runGc(dir, plan);
      if (r.killed) killed++;
      await checkReadable(dir);
      // The next collection finishes the interrupted one.
      await runGc(dir);
      expect(await snapshot(dir)).toEqual(reference);
      rmSync(dir, { recursive: true, force: true });
    }
    // Most runs were really cut short (the rest ended before their kill came).
    expect(killed).toBeGreaterThanOrEqual(RUNS / 2);
  }, 600_000);
});
