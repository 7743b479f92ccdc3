// Branch merges settle text conflicts by line, and resolve what is left by a strategy.
import { describe, expect, it } from 'vitest';
import { Repo } from '../src/repo.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** main and feature from one base, each with its own writes (path -> content, null removes). */
async function fork(base: Record<string, string | Uint8Array>, main: Record<string, string | Uint8Array | null>, feature: Record<string, string | Uint8Array | null>): Promise<Repo> {
  const repo = new Repo();
  await repo.init();
  let root = (await repo.resolve('main')).root;
  for (const [p, c] of Object.entries(base)) {
    const dir = p.slice(0, p.lastIndexOf('/'));
    if (dir !== '') root = await repo.fs.mkdir(root, dir, { recursive: true });
    root = await repo.fs.writeFile(root, p, c);
  }
  await repo.commit('main', root, 'base');
  await repo.createBranch('feature', 'main');
  for (const [branch, writes] of [['main', main], ['feature', feature]] as const) {
    let r = (await repo.resolve(branch)).root;
    for (const [p, c] of Object.entries(writes)) r = c === null ? await repo.fs.rm(r, p, { recursive: true }) : await repo.fs.writeFile(r, p, c);
    await repo.commit(branch, r, `${branch} work`);
  }
  return repo;
}

describe('merge conflicts', () => {
  it('merges text edits by line that collide as bytes (an insertion shifts the rest)', async () => {
    const repo = await fork({ '/t.txt': 'a\nb\nc\nd\n' }, { '/t.txt': 'new first line\na\nb\nc\nd\n' }, { '/t.txt': 'a\nb\nc\nD\n' });
    const r = await repo.merge('main', 'feature');
    expect(r.conflicts).toEqual([]);
    expect(r.commit).toBeDefined();
    expect(text(await repo.fs.readFile(r.root, '/t.txt'))).toBe('new first line\na\nb\nc\nD\n');
  });

  it('stops at a same-line edit, and writes markers with the branch names when asked', async () => {
    const repo = await fork({ '/t.txt': 'a\nb\nc' }, { '/t.txt': 'a\nB main\nc' }, { '/t.txt': 'a\nB feature\nc' });
    const head = await repo.head('main');
    const stopped = await repo.merge('main', 'feature');
    expect(stopped.commit).toBeUndefined();
    expect(stopped.conflicts.map((c) => [c.path, c.kind, c.resolution])).toEqual([['/t.txt', 'content', 'ours']]);
    expect(await repo.head('main')).toEqual(head);
    const marked = await repo.merge('main', 'feature', { strategy: 'markers' });
    expect(marked.commit).toBeDefined();
    expect(marked.conflicts.map((c) => [c.path, c.resolution])).toEqual([['/t.txt', 'markers']]);
    expect(text(await repo.fs.readFile(marked.root, '/t.txt'))).toBe('a\n<<<<<<< main\nB main\n=======\nB feature\n>>>>>>> feature\nc');
    expect((await repo.readCommit(marked.commit!)).parents).toHaveLength(2);
  });

  it('--theirs takes their side at every conflict, subtrees and deletions included', async () => {
    const bin = new Uint8Array([0, 1, 2, 3]);
    const repo = await fork(
      { '/t.txt': 'x\n', '/bin': bin, '/d/keep': 'k', '/d/sub/f': 'f', '/gone': 'g' },
      { '/t.txt': 'ours\n', '/bin': new Uint8Array([0, 9, 9, 9]), '/d': null, '/gone': 'changed by main' },
      { '/t.txt': 'theirs\n', '/bin': new Uint8Array([0, 7, 7, 7]), '/d/sub/f': 'F', '/gone': null },
    );
    const r = await repo.merge('main', 'feature', { strategy: 'theirs' });
    expect(r.commit).toBeDefined();
    expect(r.conflicts.map((c) => [c.path, c.resolution]).sort()).toEqual([['/bin', 'theirs'], ['/d', 'theirs'], ['/gone', 'theirs'], ['/t.txt', 'theirs']]);
    expect(text(await repo.fs.readFile(r.root, '/t.txt'))).toBe('theirs\n');
    expect([...(await repo.fs.readFile(r.root, '/bin'))]).toEqual([0, 7, 7, 7]);
    expect(text(await repo.fs.readFile(r.root, '/d/sub/f'))).toBe('F');
    expect(text(await repo.fs.readFile(r.root, '/d/keep'))).toBe('k');
    expect(await repo.fs.exists(r.root, '/gone')).toBe(false);
  });

  it('--ours keeps ours, and markers leave binary files as ours', async () => {
    const repo = await fork({ '/bin': new Uint8Array([0, 1]), '/t.txt': 'a\n' }, { '/bin': new Uint8Array([0, 2]), '/t.txt': 'A\n' }, { '/bin': new Uint8Array([0, 3]), '/t.txt': 'AA\n' });
    const ours = await repo.merge('main', 'feature', { strategy: 'ours', noFastForward: true });
    expect([...(await repo.fs.readFile(ours.root, '/bin'))]).toEqual([0, 2]);
    expect(text(await repo.fs.readFile(ours.root, '/t.txt'))).toBe('A\n');
    const repo2 = await fork({ '/bin': new Uint8Array([0, 1]) }, { '/bin': new Uint8Array([0, 2]) }, { '/bin': new Uint8Array([0, 3]) });
    const marked = await repo2.merge('main', 'feature', { strategy: 'markers' });
    expect(marked.conflicts.map((c) => [c.path, c.resolution])).toEqual([['/bin', 'ours']]);
    expect([...(await repo2.fs.readFile(marked.root, '/bin'))]).toEqual([0, 2]);
  });
});
