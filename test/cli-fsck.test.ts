// Issue 27: fsck understands pruned history (clean after every kind of gc retention) and, on
// real damage, names every missing blob with the commit and path that reach it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cafs } from './run-cafs.js';

const work = mkdtempSync(join(tmpdir(), 'cafs-fsck-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await cafs(cwd, ...args);
  if (r.code !== 0) throw new Error(`cafs ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A repository with `n` commits, each changing tree/f<i>.txt. */
async function history(name: string, n: number): Promise<string> {
  const dir = join(work, name);
  mkdirSync(join(dir, 'tree'), { recursive: true });
  await ok(dir, 'init');
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, 'tree', `f${i % 4}.txt`), `version ${i}\n`);
    await ok(dir, 'import', 'tree', '-m', `c${i}`);
  }
  return dir;
}

describe('fsck after gc', () => {
  it('--keep-last, --keep-newer-than and pins: clean, and log ends saying history was collected', async () => {
    const dir = await history('keep', 8);
    const fsck1 = JSON.parse(await ok(dir, 'fsck', '--json')) as { ok: boolean; commits: number };
    expect(fsck1).toMatchObject({ ok: true, commits: 9 });
    // A pin on an old commit's root survives the collections below.
    const log = JSON.parse(await ok(dir, 'log', '--json')) as { commit: string; root: string }[];
    const { Repo } = await import('../packages/repo/dist/index.js');
    const { pin } = await import('../packages/repo/dist/gc.js');
    const { parseHash } = await import('../packages/kv/dist/node.js');
    const repo = await Repo.open({ path: join(dir, '.cafs') });
    await pin(repo, parseHash(log[6]!.root));
    await repo.close();

    const gc = JSON.parse(await ok(dir, 'gc', '--keep-last', '3', '--json')) as { linksCut: number; blobsDeleted: number };
    expect(gc.linksCut).toBe(1);
    expect(gc.blobsDeleted).toBeGreaterThan(0);
    const after = JSON.parse(await ok(dir, 'fsck', '--json')) as { ok: boolean; commits: number; historyCuts: number; problems: unknown[] };
    expect(after).toMatchObject({ ok: true, commits: 3, historyCuts: 1, problems: [] });
    expect(await ok(dir, 'ls', log[6]!.root)).toContain('f');
    const text = await ok(dir, 'log', '--oneline');
    expect(text.trim().split('\n')).toHaveLength(4);
    expect(text).toMatch(/\(older history collected by gc: [0-9a-f]{12}\)\n$/);
    const past = await cafs(dir, 'ls', 'main~3');
    expect(past.code).not.toBe(0);
    expect(past.stderr).toMatch(/history before [0-9a-f]{12} was removed by garbage collection/);

    // Every commit is younger than a day, and older than 0 s: the head alone stays.
    expect(await ok(dir, 'gc', '--keep-newer-than', '1d')).toMatch(/^deleted 0 blobs/);
    expect(await ok(dir, 'gc', '--keep-newer-than', '0s')).toMatch(/history cut at 1 link/);
    expect(await ok(dir, 'fsck')).toMatch(/^1 commits \(history ends at 1 link cut by gc\), .*: ok\n$/);
    expect((await cafs(dir, 'gc', '--keep-newer-than', 'soon')).stderr).toMatch(/takes a date .* or an age/);
  });

  it('a deleted data blob: named, with the commits and the path that reach it; exit 1', async () => {
    const dir = join(work, 'damaged');
    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'sub', 'big.bin'), Buffer.alloc(200_000, 7));
    writeFileSync(join(dir, 'tree', 'small.txt'), 'small\n');
    await ok(dir, 'init');
    await ok(dir, 'import', 'tree', '-m', 'one');
    writeFileSync(join(dir, 'tree', 'small.txt'), 'changed\n');
    await ok(dir, 'import', 'tree', '-m', 'two');
    const { LevelBlobStore, bytesToHex } = await import('../packages/kv/dist/node.js');
    const store = await LevelBlobStore.open(join(dir, '.cafs'));
    let victim: Uint8Array | undefined;
    for await (const h of store.hashes()) if ((await store.get(h)).length > 65536) victim = h;
    await store.delete([victim!]);
    await store.close();
    const r = await cafs(dir, 'fsck');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing ${bytesToHex(victim!)} (data)`);
    // Both commits hold the file (their trees differ, so each is named).
    expect(r.stdout).toMatch(/reached from commit [0-9a-f]{12} \/sub\/big\.bin/);
    expect(r.stdout.match(/reached from commit/g)!.length).toBe(2);
    expect(r.stdout).toMatch(/3 commits, 3 roots, .*: DAMAGED\n$/);
    expect(r.stderr).toBe('cafs: fsck: 1 missing, 0 corrupt blobs\n');
    const j = await cafs(dir, 'fsck', '--json');
    const report = JSON.parse(j.stdout) as { ok: boolean; problems: { hash: string; kind: string; problem: string; reachedBy: string[] }[] };
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ hash: bytesToHex(victim!), kind: 'data', problem: 'missing', reachedBy: expect.arrayContaining([expect.stringMatching(/\/sub\/big\.bin$/)]) }]);
  });
});
