import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, bytesToHex, type Hash } from '@cafs/kv';
import { Fs } from '@cafs/fs';
import { Repo, ConflictError } from '../src/index.js';
import { mergeRoots } from '../src/merge.js';
import { mergeBase, mergeBases, mergeRefs } from '../src/merge-refs.js';

const hex = (h: Hash | undefined) => (h === undefined ? undefined : bytesToHex(h));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function newFs(): Fs {
  let t = 1_700_000_000_000_000_000n;
  return new Fs(new MemoryBlobStore(), { now: () => (t += 1000n) });
}

/** Deterministic bytes (xorshift32). */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

describe('mergeRoots', () => {
  it('applies one-sided changes from both sides, and identical changes once', async () => {
    const fs = newFs();
    let base = await fs.mkfs();
    const b0 = fs.batch(base);
    await b0.mkdir('/d');
    await b0.writeFile('/d/keep', 'keep');
    await b0.writeFile('/d/gone', 'gone');
    await b0.writeFile('/x', 'x0');
    base = await b0.flush();

    const bo = fs.batch(base);
    await bo.writeFile('/d/ours', 'ours');
    await bo.writeFile('/x', 'x1');
    await bo.writeFile('/same', 'same');
    const ours = await bo.flush();
    const bt = fs.batch(base);
    await bt.unlink('/d/gone');
    await bt.mkdir('/t');
    await bt.writeFile('/t/f', 'theirs');
    await bt.writeFile('/same', 'same');
    await bt.chmod('/d/keep', 0o600);
    const theirs = await bt.flush();

    const { root, conflicts } = await mergeRoots(fs, base, ours, theirs);
    expect(conflicts).toEqual([]);
    expect(await fs.readdir(root, '/')).toEqual(['d', 'same', 't', 'x']);
    expect(await fs.readdir(root, '/d')).toEqual(['keep', 'ours']);
    expect(text(await fs.readFile(root, '/x'))).toBe('x1');
    expect(text(await fs.readFile(root, '/t/f'))).toBe('theirs');
    expect(text(await fs.readFile(root, '/same'))).toBe('same');
    expect((await fs.stat(root, '/d/keep')).mode & 0o7777).toBe(0o600);
    // Times are the later of both sides: merging is deterministic, independent of the clock.
    const again = await mergeRoots(fs, base, ours, theirs);
    expect(hex(again.root)).toBe(hex(root));

    // Trivial cases cost nothing.
    expect(hex((await mergeRoots(fs, base, ours, base)).root)).toBe(hex(ours));
    expect(hex((await mergeRoots(fs, base, base, theirs)).root)).toBe(hex(theirs));
    expect(hex((await mergeRoots(fs, base, ours, ours)).root)).toBe(hex(ours));
  });

  it('merges byte ranges of a large file changed on both sides, and reports overlapping ones', async () => {
    const fs = newFs();
    const data = bytes(3_000_000, 7);
    const base = await fs.writeFile(await fs.mkfs(), '/big', data);
    const ours = await fs.write(base, '/big', 100_000, new TextEncoder().encode('OURS'));
    let theirs = await fs.write(base, '/big', 2_500_000, new TextEncoder().encode('THEIRS'));
    theirs = await fs.appendFile(theirs, '/big', 'TAIL');

    const { root, conflicts, stats } = await mergeRoots(fs, base, ours, theirs);
    expect(conflicts).toEqual([]);
    expect(stats.rangeMerges).toBe(1);
    const merged = await fs.readFile(root, '/big');
    const want = new Uint8Array(3_000_004);
    want.set(data);
    want.set(new TextEncoder().encode('OURS'), 100_000);
    want.set(new TextEncoder().encode('THEIRS'), 2_500_000);
    want.set(new TextEncoder().encode('TAIL'), 3_000_000);
    expect(Buffer.from(merged).equals(Buffer.from(want))).toBe(true);
    expect((await fs.stat(root, '/big')).size).toBe(3_000_004n);

    // Ours truncates, theirs edits below the cut: both apply.
    const cut = await fs.truncate(base, '/big', 1_000_000);
    const edit = await fs.write(base, '/big', 10, new TextEncoder().encode('E'));
    const m2 = await mergeRoots(fs, base, edit, cut);
    expect(m2.conflicts).toEqual([]);
    const got = await fs.readFile(m2.root, '/big');
    expect(got.length).toBe(1_000_000);
    expect(got[10]).toBe('E'.charCodeAt(0));
    expect(Buffer.from(got.subarray(11)).equals(Buffer.from(data.subarray(11, 1_000_000)))).toBe(true);

    // Overlapping edits conflict; the tree keeps ours and the conflict has both sides' bytes.
    const clash = await fs.write(base, '/big', 100_002, new TextEncoder().encode('XX'));
    const m3 = await mergeRoots(fs, base, ours, clash);
    expect(m3.conflicts).toHaveLength(1);
    const c = m3.conflicts[0]!;
    expect(c).toMatchObject({ path: '/big', kind: 'content', resolution: 'ours', subtree: false });
    expect(c.ranges).toEqual({ ours: [{ start: 100_000n, end: 100_004n }], theirs: [{ start: 100_002n, end: 100_004n }] });
    expect(hex(m3.root)).toBe(hex(ours));
    expect(text(await fs.read(c.roots.theirs, c.path, { offset: 100_000, length: 4 }))).toBe(text(data.subarray(100_000, 100_002)) + 'XX');
  });

  it('a directory removed on one side and changed inside on the other is one conflict, keeping ours', async () => {
    const fs = newFs();
    let base = await fs.mkfs();
    const b0 = fs.batch(base);
    await b0.mkdir('/d/e', { recursive: true });
    await b0.writeFile('/d/e/f', 'f');
    await b0.writeFile('/d/g', 'g');
    base = await b0.flush();
    const removed = await fs.rm(base, '/d', { recursive: true });
    const changed = await fs.writeFile(base, '/d/e/f', 'changed');

    const a = await mergeRoots(fs, base, changed, removed);
    expect(a.conflicts.map((c) => [c.path, c.kind, c.subtree])).toEqual([['/d', 'delete-modify', true]]);
    expect(a.conflicts[0]!.theirs).toBeUndefined();
    expect(a.conflicts[0]!.ours?.type).toBe('directory');
    // Ours throughout (the root directory takes the later of both sides' times).
    expect(hex((await mergeRoots(fs, base, changed, base)).root)).toBe(hex(changed));
    expect(text(await fs.readFile(a.root, '/d/e/f'))).toBe('changed');
    expect(await fs.readdir(a.root, '/d')).toEqual(['e', 'g']);

    const b = await mergeRoots(fs, base, removed, changed);
    expect(b.conflicts.map((c) => [c.path, c.kind])).toEqual([['/d', 'delete-modify']]);
    expect(await fs.exists(b.root, '/d')).toBe(false);

    // Removed on one side, untouched inside on the other: the removal applies.
    const other = await fs.writeFile(base, '/elsewhere', 'x');
    const c = await mergeRoots(fs, base, other, removed);
    expect(c.conflicts).toEqual([]);
    expect(await fs.readdir(c.root, '/')).toEqual(['elsewhere']);

    // A file replaced by a directory on one side, edited on the other: a type conflict.
    const asDir = await fs.mkdir(await fs.unlink(base, '/d/g'), '/d/g');
    const edited = await fs.writeFile(base, '/d/g', 'g2');
    const d = await mergeRoots(fs, base, edited, asDir);
    expect(d.conflicts.map((x) => [x.path, x.kind])).toEqual([['/d/g', 'type']]);
    expect(text(await fs.readFile(d.root, '/d/g'))).toBe('g2');
  });

  it('merges metadata field by field; conflicting fields are a metadata conflict', async () => {
    const fs = newFs();
    let base = await fs.writeFile(await fs.mkfs(), '/f', 'hello world');
    base = await fs.setxattr(base, '/f', 'user.a', new TextEncoder().encode('1'));
    // Mode on one side, bytes and an xattr on the other: all apply.
    const ours = await fs.chmod(base, '/f', 0o600);
    let theirs = await fs.write(base, '/f', 0, new TextEncoder().encode('J'));
    theirs = await fs.setxattr(theirs, '/f', 'user.b', new TextEncoder().encode('2'));
    const m = await mergeRoots(fs, base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    expect((await fs.stat(m.root, '/f')).mode & 0o7777).toBe(0o600);
    expect(text(await fs.readFile(m.root, '/f'))).toBe('Jello world');
    expect(await fs.listxattr(m.root, '/f')).toEqual(['user.a', 'user.b']);

    // Different modes on both sides.
    const m2 = await mergeRoots(fs, base, ours, await fs.chmod(base, '/f', 0o640));
    expect(m2.conflicts.map((c) => [c.path, c.kind, c.fields])).toEqual([['/f', 'metadata', ['mode']]]);
    expect((await fs.stat(m2.root, '/f')).mode & 0o7777).toBe(0o600);

    // Symlink targets changed differently: a content conflict; the same: none.
    const withLink = await fs.symlink(base, '/f', '/l');
    const l1 = await fs.symlink(await fs.unlink(withLink, '/l'), '/one', '/l');
    const l2 = await fs.symlink(await fs.unlink(withLink, '/l'), '/two', '/l');
    expect((await mergeRoots(fs, withLink, l1, l2)).conflicts.map((c) => c.kind)).toEqual(['content']);
    expect((await mergeRoots(fs, withLink, l1, l1)).conflicts).toEqual([]);
  });

  it('costs what the changes cost, not what the tree holds', async () => {
    const fs = newFs();
    const reads = async (n: number): Promise<number> => {
      const b = fs.batch(await fs.mkfs());
      for (let d = 0; d < n / 100; d++) {
        await b.mkdir(`/d${d}`);
        for (let i = 0; i < 100; i++) void b.writeFile(`/d${d}/f${i}`, `file ${d}/${i}`);
      }
      const base = await b.flush();
      const ours = await fs.writeFile(base, '/d1/f1', 'ours');
      const theirs = await fs.writeFile(base, `/d${n / 100 - 1}/f2`, 'theirs');
      const before = fs.tree.stats.reads;
      const { root, conflicts } = await mergeRoots(fs, base, ours, theirs);
      expect(conflicts).toEqual([]);
      expect(text(await fs.readFile(root, '/d1/f1'))).toBe('ours');
      return fs.tree.stats.reads - before;
    };
    const small = await reads(1_000);
    const large = await reads(30_000);
    // Node reads grow with the depth of the tree at most, not with its size (30x here).
    expect(large).toBeLessThan(small * 3);
  });
});

describe('merging branches', () => {
  let t = 1_700_000_000_000_000_000n;
  const newRepo = () => Repo.open({ now: () => (t += 1_000_000n) });

  async function diverged() {
    const repo = await newRepo();
    const c0 = await repo.init();
    let root = (await repo.resolve('main')).root;
    root = await repo.fs.writeFile(root, '/shared.txt', 'line one\nline two\nline three\n');
    const c1 = await repo.commit('main', root, 'shared');
    await repo.createBranch('feature', 'main');
    const featureRoot = await repo.fs.writeFile(root, '/feature.txt', 'feature');
    const f1 = await repo.commit('feature', featureRoot, 'feature work');
    const mainRoot = await repo.fs.write(root, '/shared.txt', 0, new TextEncoder().encode('LINE'));
    const m1 = await repo.commit('main', mainRoot, 'main work');
    return { repo, c0, c1, f1, m1 };
  }

  it('finds the merge base of diverged branches', async () => {
    const { repo, c0, c1, f1, m1 } = await diverged();
    expect(hex(await mergeBase(repo, m1, f1))).toBe(hex(c1));
    expect(hex(await mergeBase(repo, f1, m1))).toBe(hex(c1));
    expect(hex(await mergeBase(repo, m1, c0))).toBe(hex(c0));
    expect(hex(await mergeBase(repo, m1, m1))).toBe(hex(m1));
    // Unrelated histories share nothing.
    const lone = await repo.writeCommit({ root: (await repo.resolve('main')).root, parents: [], timeNs: 1n, message: 'lone' });
    expect(await mergeBase(repo, m1, lone)).toBeUndefined();
  });

  it('criss-cross histories have two best bases; mergeBase picks the newest', async () => {
    const { repo, c1, f1, m1 } = await diverged();
    const root = (await repo.resolve('main')).root;
    // Each branch merges the other's tip: m2 = (m1, f1), f2 = (f1, m1).
    const m2 = await repo.commit('main', root, 'merge feature', { parents: [m1, f1] });
    const f2 = await repo.commit('feature', root, 'merge main', { parents: [f1, m1] });
    const bases = (await mergeBases(repo, m2, f2)).map(hex);
    expect(bases.sort()).toEqual([hex(m1), hex(f1)].sort());
    expect(hex(await mergeBase(repo, m2, f2))).toBe(hex(m1)); // m1 is newer than f1
    expect(bases).not.toContain(hex(c1));
  });

  it('fast-forwards when the branch is behind', async () => {
    const { repo, c1, f1 } = await diverged();
    await repo.createBranch('old', hex(c1)!);
    const r = await mergeRefs(repo, 'old', 'feature');
    expect(r).toMatchObject({ fastForward: true, upToDate: false, conflicts: [] });
    expect(hex(r.commit)).toBe(hex(f1));
    expect(hex(await repo.head('old'))).toBe(hex(f1));
    // Merging again: up to date, nothing recorded.
    const again = await mergeRefs(repo, 'old', 'feature');
    expect(again).toMatchObject({ fastForward: false, upToDate: true });
    expect(hex(await repo.head('old'))).toBe(hex(f1));
    // Merging an ancestor: up to date as well.
    expect((await mergeRefs(repo, 'feature', hex(c1)!)).upToDate).toBe(true);
  });

  it('records a two-parent merge commit, and log shows both lines of history', async () => {
    const { repo, f1, m1 } = await diverged();
    const r = await mergeRefs(repo, 'main', 'feature', { message: 'merge feature' });
    expect(r.fastForward).toBe(false);
    expect(r.conflicts).toEqual([]);
    expect(hex(await repo.head('main'))).toBe(hex(r.commit));
    const commit = await repo.readCommit(r.commit!);
    expect(commit.parents.map(hex)).toEqual([hex(m1), hex(f1)]);
    expect(commit.message).toBe('merge feature');
    expect(text(await repo.fs.readFile(commit.root, '/feature.txt'))).toBe('feature');
    expect(text(await repo.fs.readFile(commit.root, '/shared.txt'))).toBe('LINE one\nline two\nline three\n');
    const log: string[] = [];
    for await (const e of repo.log('main')) log.push(e.commit.message);
    expect(log).toEqual(['merge feature', 'main work', 'feature work', 'shared', 'init']);
    // The feature branch can now fast-forward to the merge.
    expect((await mergeRefs(repo, 'feature', 'main')).fastForward).toBe(true);
  });

  it('stops at conflicts unless allowed; noFastForward makes a merge commit', async () => {
    const { repo, m1 } = await diverged();
    const featureRoot = (await repo.resolve('feature')).root;
    await repo.commit('feature', await repo.fs.write(featureRoot, '/shared.txt', 2, new TextEncoder().encode('XX')), 'clash');
    const stopped = await mergeRefs(repo, 'main', 'feature');
    expect(stopped.commit).toBeUndefined();
    expect(stopped.conflicts.map((c) => [c.path, c.kind])).toEqual([['/shared.txt', 'content']]);
    expect(hex(await repo.head('main'))).toBe(hex(m1));
    const forced = await mergeRefs(repo, 'main', 'feature', { allowConflicts: true });
    expect(forced.commit).toBeDefined();
    expect(text(await repo.fs.readFile(forced.root, '/shared.txt'))).toBe('LINE one\nline two\nline three\n');
    expect(text(await repo.fs.readFile(forced.root, '/feature.txt'))).toBe('feature');

    await repo.createBranch('behind', hex(m1)!);
    const noff = await mergeRefs(repo, 'behind', 'main', { noFastForward: true });
    expect(noff.fastForward).toBe(false);
    expect((await repo.readCommit(noff.commit!)).parents.map(hex)).toEqual([hex(m1), hex(forced.commit)]);
  });

  it('a branch that moves during the merge is not overwritten', async () => {
    const { repo } = await diverged();
    // Move main while the merge runs: between reading the head and committing.
    const readCommit = repo.readCommit.bind(repo);
    let moved = false;
    repo.readCommit = async (h) => {
      const c = await readCommit(h);
      if (!moved) {
        moved = true;
        await repo.commit('main', c.root, 'sneaky');
      }
      return c;
    };
    await expect(mergeRefs(repo, 'main', 'feature')).rejects.toBeInstanceOf(ConflictError);
  });
});
