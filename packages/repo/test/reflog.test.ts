// The reflog: every move of a branch is recorded, `branch@{N}` reads it, gc keeps what it names
// until it expires.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToHex, type Hash } from '@cafs/kv';
import { Repo, gc } from '../src/index.js';

const hex = (h: Hash): string => bytesToHex(h);

/** A repository with a clock the test moves (ns). */
function clockedRepo(): { repo: Repo; advance: (ms: number) => void } {
  let t = 1_700_000_000_000_000_000n;
  const repo = new Repo({ now: () => t });
  return { repo, advance: (ms) => void (t += BigInt(ms) * 1_000_000n) };
}

async function commitFile(repo: Repo, branch: string, path: string, text: string): Promise<Hash> {
  const head = await repo.resolve(branch);
  return repo.commit(branch, await repo.fs.writeFile(head.root, path, text), `write ${path}`);
}

describe('reflog', () => {
  it('records create, update and delete of branches (not tags), oldest first; branch@{N} reads it', async () => {
    const { repo, advance } = clockedRepo();
    const c0 = await repo.init();
    advance(1);
    const c1 = await commitFile(repo, 'main', '/a', 'one');
    await repo.createBranch('topic', 'main');
    const c2 = await commitFile(repo, 'topic', '/b', 'two');
    await repo.createTag('v1', 'topic');
    await repo.setBranch('main', c0, c1); // a reset
    await repo.deleteBranch('topic');
    const all = (await repo.reflog()).map((e) => [e.branch, e.kind, hex(e.commit)]);
    expect(all).toEqual([
      ['main', 'create', hex(c0)],
      ['main', 'update', hex(c1)],
      ['topic', 'create', hex(c1)],
      ['topic', 'update', hex(c2)],
      ['main', 'update', hex(c0)],
      ['topic', 'delete', hex(c2)],
    ]);
    expect((await repo.reflog('main')).map((e) => e.kind)).toEqual(['create', 'update', 'update']);
    // Times increase even when the clock stands still.
    const times = (await repo.reflog()).map((e) => e.timeNs);
    expect([...times].sort((a, b) => (a < b ? -1 : 1))).toEqual(times);
    expect(new Set(times).size).toBe(times.length);
    expect(hex((await repo.resolve('main@{0}')).commit!)).toBe(hex(c0));
    expect(hex((await repo.resolve('main@{1}')).commit!)).toBe(hex(c1));
    expect(hex((await repo.resolve('main@{1}~1')).commit!)).toBe(hex(c0));
    expect(await repo.resolve('main@{3}').catch((e: { code: string }) => e.code)).toBe('ERR_UNKNOWN_REF');
    // A deleted branch comes back from its last move.
    expect(hex(await repo.createBranch('topic', 'topic@{0}'))).toBe(hex(c2));
    expect(new TextDecoder().decode(await repo.fs.readFile((await repo.resolve('topic')).root, '/b'))).toBe('two');
    expect(await repo.reflog('no..such').catch((e: { code: string }) => e.code)).toBe('EINVAL');
  });

  it('gc keeps a deleted branch with its whole history until the entry expires', async () => {
    const { repo, advance } = clockedRepo();
    await repo.init();
    await repo.createBranch('topic', 'main');
    for (let i = 0; i < 4; i++) await commitFile(repo, 'topic', `/f${i}`, `data ${i}`.repeat(1000));
    const head = await repo.head('topic');
    await repo.deleteBranch('topic');
    let r = await gc(repo, { graceMs: 0 });
    expect(r.reflogExpired).toBe(0);
    await repo.createBranch('back', hex(head));
    const log: string[] = [];
    for await (const e of repo.log('back')) {
      expect(e.collected).toBeUndefined();
      log.push(e.commit.message);
    }
    expect(log).toHaveLength(5);
    await repo.deleteBranch('back');
    // Thirty-one days later the entries have expired: the commits go.
    advance(31 * 24 * 3600 * 1000);
    r = await gc(repo, { graceMs: 0 });
    expect(r.reflogExpired).toBeGreaterThan(0);
    expect(r.blobsDeleted).toBeGreaterThan(0);
    expect(await repo.readCommitIfKept(head)).toBeUndefined();
    expect((await repo.reflog()).every((e) => e.branch === 'main')).toBe(true);
    expect(await repo.resolve('topic@{0}').catch((e: { code: string }) => e.code)).toBe('ERR_UNKNOWN_REF');
  });

  it('keepLast prunes each branch to its newest N moves, each keeping its own commit', async () => {
    const { repo } = clockedRepo();
    await repo.init();
    const heads: Hash[] = [];
    for (let i = 0; i < 6; i++) heads.push(await commitFile(repo, 'main', `/f${i}`, `v${i}`.repeat(500)));
    const r = await gc(repo, { graceMs: 0, keepLast: 2 });
    expect(r.reflogExpired).toBe(5); // 7 moves (init + 6), 2 left
    expect((await repo.reflog('main')).map((e) => hex(e.commit))).toEqual(heads.slice(-2).map(hex));
    expect(r.commitsRetained).toBe(2);
  });

  it('after any sequence of branch moves, each branch reflog ends at its head (or its deletion)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('commit' as const), b: fc.integer({ min: 0, max: 2 }), n: fc.nat(5) }),
      fc.record({ kind: fc.constant('create' as const), b: fc.integer({ min: 0, max: 2 }), from: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('delete' as const), b: fc.integer({ min: 1, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const repo = new Repo();
        await repo.init();
        const names = ['main', 'b1', 'b2'];
        const model = new Map<string, { moves: number; deleted: boolean }>([['main', { moves: 1, deleted: false }]]);
        for (const o of ops) {
          const name = names[o.b]!;
          const exists = model.get(name)?.deleted === false;
          if (o.kind === 'commit' && exists) {
            await commitFile(repo, name, `/x${o.n}`, `${name} ${o.n}`);
            model.get(name)!.moves++;
          } else if (o.kind === 'create' && !exists && model.get(names[o.from]!)?.deleted === false) {
            await repo.createBranch(name, names[o.from]!);
            model.set(name, { moves: (model.get(name)?.moves ?? 0) + 1, deleted: false });
          } else if (o.kind === 'delete' && exists) {
            await repo.deleteBranch(name);
            model.get(name)!.moves++;
            model.get(name)!.deleted = true;
          }
        }
        for (const [name, m] of model) {
          const log = await repo.reflog(name);
          expect(log).toHaveLength(m.moves);
          const last = log[log.length - 1]!;
          if (m.deleted) expect(last.kind).toBe('delete');
          else expect(hex(last.commit)).toBe(hex(await repo.head(name)));
        }
      }),
      { numRuns: 40 },
    );
  });
});
