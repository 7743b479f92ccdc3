// The branch mount's commit policy against a model: any sequence of changes, waits, explicit
// commits and commits by someone else ends with the branch head at the mount's last root,
// every change of both sides in it, and the number of commits the policy promises.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { equalBytes, type Hash } from '@cafs/kv';
import { Repo } from '@cafs/repo';
import { BranchCommits } from '../src/index.js';

const QUIET = 1000;
const MAX = 5000;

type Step = { op: 'change' } | { op: 'wait'; ms: number } | { op: 'commit' } | { op: 'other' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'change' as const }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }).map((ms) => ({ op: 'wait' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'other' as const }) },
);

async function commitCount(repo: Repo): Promise<number> {
  let n = 0;
  for await (const _ of repo.log('main')) n++;
  return n;
}

describe('branch mount commit policy (model)', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => void vi.useRealTimers());

  it('commits after a quiet period, at most MAX after the first change, on request and at the end; loses nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const repo = await Repo.open();
        await repo.init();
        const head0 = await repo.head('main');
        let mountRoot: Hash = (await repo.readCommit(head0)).root;
        let due: Promise<unknown> = Promise.resolve();
        const commits = new BranchCommits(repo, 'main', head0, mountRoot, { quietMs: QUIET, maxDelayMs: MAX }, () => {
          due = due.then(() => commits.commit(mountRoot).then((r) => void (mountRoot = r.root)));
        });
        // The model: when the policy must commit, and how many commits the branch gets.
        const model = { now: 0, dirty: false, first: 0, last: 0, commits: 1, mine: 0, theirs: 0 };
        const modelCommit = (): void => {
          if (model.dirty) model.commits++;
          model.dirty = false;
        };
        for (const s of steps) {
          if (s.op === 'change') {
            mountRoot = await repo.fs.writeFile(mountRoot, `/mine-${model.mine++}`, 'm');
            commits.noteChange(`write /mine-${model.mine - 1}`);
            if (!model.dirty) model.first = model.now;
            model.dirty = true;
            model.last = model.now;
          } else if (s.op === 'wait') {
            if (model.dirty && Math.min(model.last + QUIET, model.first + MAX) <= model.now + s.ms) modelCommit();
            model.now += s.ms;
            await vi.advanceTimersByTimeAsync(s.ms);
            await due;
          } else if (s.op === 'commit') {
            modelCommit();
            mountRoot = (await commits.commit(mountRoot)).root;
          } else {
            const head = await repo.head('main');
            const root = await repo.fs.writeFile((await repo.readCommit(head)).root, `/theirs-${model.theirs++}`, 't');
            await repo.commit('main', root, 'someone else', { expect: head });
            model.commits++;
          }
        }
        // Unmount: the last commit.
        modelCommit();
        mountRoot = (await commits.commit(mountRoot)).root;
        commits.dispose();
        const head = await repo.head('main');
        expect(equalBytes((await repo.readCommit(head)).root, mountRoot)).toBe(true);
        expect(await commitCount(repo)).toBe(model.commits);
        const names = new Set(await repo.fs.readdir(mountRoot, '/'));
        for (let i = 0; i < model.mine; i++) expect(names.has(`mine-${i}`)).toBe(true);
        for (let i = 0; i < model.theirs; i++) expect(names.has(`theirs-${i}`)).toBe(true);
        await repo.close();
      }),
      { numRuns: 60 },
    );
  });

  it('names the changes in the message, and takes a message given', async () => {
    const repo = await Repo.open();
    await repo.init();
    const head = await repo.head('main');
    let root = (await repo.readCommit(head)).root;
    const commits = new BranchCommits(repo, 'main', head, root, {}, () => undefined);
    for (const p of ['/a', '/b', '/c', '/d', '/e']) {
      root = await repo.fs.writeFile(root, p, 'x');
      commits.noteChange(`write ${p}`);
    }
    await commits.commit(root);
    expect((await repo.readCommit(await repo.head('main'))).message).toBe('5 changes: write /a, write /b, write /c, and 2 more');
    root = await repo.fs.writeFile(root, '/f', 'x');
    commits.noteChange('write /f');
    await commits.commit(root, 'add f');
    expect((await repo.readCommit(await repo.head('main'))).message).toBe('add f');
    // Nothing new: no commit.
    const before = await repo.head('main');
    await commits.commit(root, 'again');
    expect(equalBytes(await repo.head('main'), before)).toBe(true);
    commits.dispose();
    await repo.close();
  });

  it('refuses a moved branch with each: true (the change is the caller\'s to refuse)', async () => {
    const repo = await Repo.open();
    await repo.init();
    const head = await repo.head('main');
    const root = (await repo.readCommit(head)).root;
    const commits = new BranchCommits(repo, 'main', head, root, { each: true }, () => undefined);
    await repo.commit('main', await repo.fs.writeFile(root, '/theirs', 't'), 'someone else', { expect: head });
    await expect(commits.commit(await repo.fs.writeFile(root, '/mine', 'm'), 'write /mine')).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(() => new BranchCommits(repo, 'main', head, root, { quietMs: -1 }, () => undefined)).toThrow(RangeError);
    await repo.close();
  });
});
