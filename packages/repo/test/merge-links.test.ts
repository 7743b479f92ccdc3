import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '@cafs/kv';
import { Fs } from '@cafs/fs';
import { mergeRoots } from '../src/merge.js';
import { settleConflicts } from '../src/merge-resolve.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function newFs(): Fs {
  let t = 1_700_000_000_000_000_000n;
  return new Fs(new MemoryBlobStore(), { now: () => (t += 1000n) });
}

async function names(fs: Fs, root: Uint8Array, paths: string[]): Promise<[string, number, number][]> {
  return Promise.all(paths.map(async (p) => {
    const st = await fs.lstat(root, p);
    return [p, st.nlink, st.ino] as [string, number, number];
  }));
}

describe('mergeRoots with hard links', () => {
  it('both sides linking the same file: the merge has every name, one inode', async () => {
    const fs = newFs();
    const base = await fs.writeFile(await fs.mkfs(), '/a', 'shared');
    const ours = await fs.link(base, '/a', '/x');
    const theirs = await fs.link(await fs.writeFile(base, '/other', 'o'), '/a', '/y');
    const m = await mergeRoots(fs, base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    const got = await names(fs, m.root, ['/a', '/x', '/y']);
    expect(got.map(([, n]) => n)).toEqual([3, 3, 3]);
    expect(new Set(got.map(([, , ino]) => ino)).size).toBe(1);
    expect(text(await fs.readFile(m.root, '/y'))).toBe('shared');
    expect(text(await fs.readFile(m.root, '/other'))).toBe('o');
  });

  it('theirs unlinks a name and adds a link while ours edits the bytes through another name', async () => {
    const fs = newFs();
    let base = await fs.writeFile(await fs.mkfs(), '/a', 'one two three');
    base = await fs.link(base, '/a', '/b');
    base = await fs.link(base, '/a', '/c');
    const ours = await fs.write(base, '/c', 0, new TextEncoder().encode('ONE'));
    const theirs = await fs.link(await fs.unlink(base, '/b'), '/c', '/d');
    const m = await mergeRoots(fs, base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    expect(await fs.exists(m.root, '/b')).toBe(false);
    const got = await names(fs, m.root, ['/a', '/c', '/d']);
    expect(got.map(([, n]) => n)).toEqual([3, 3, 3]);
    for (const p of ['/a', '/c', '/d']) expect(text(await fs.readFile(m.root, p))).toBe('ONE two three');
  });

  it('theirs removes a directory holding a link whose inode lives outside it', async () => {
    const fs = newFs();
    let base = await fs.mkdir(await fs.mkfs(), '/d');
    base = await fs.writeFile(base, '/a', 'content');
    base = await fs.link(base, '/a', '/d/b');
    const ours = await fs.writeFile(base, '/a', 'changed');
    const theirs = await fs.rm(base, '/d', { recursive: true });
    const m = await mergeRoots(fs, base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    expect(await fs.exists(m.root, '/d')).toBe(false);
    expect((await fs.stat(m.root, '/a')).nlink).toBe(1);
    expect(text(await fs.readFile(m.root, '/a'))).toBe('changed');
  });

  it('theirs replaces a link by a file of its own; a conflict taken as theirs keeps the other names whole', async () => {
    const fs = newFs();
    let base = await fs.writeFile(await fs.mkfs(), '/a', 'linked');
    base = await fs.link(base, '/a', '/b');
    const theirs = await fs.writeFile(await fs.unlink(base, '/b'), '/b', 'own');
    const m = await mergeRoots(fs, base, base, theirs);
    expect(m.root).toEqual(theirs);
    const ours = await fs.writeFile(await fs.mkfs(), '/z', 'z');
    const m2 = await mergeRoots(fs, base, await fs.writeFile(base, '/z', 'z'), theirs);
    void ours;
    expect(m2.conflicts).toEqual([]);
    expect(text(await fs.readFile(m2.root, '/b'))).toBe('own');
    expect(text(await fs.readFile(m2.root, '/a'))).toBe('linked');
    expect((await fs.stat(m2.root, '/a')).nlink).toBe(1);
    // Both sides change the name differently: a conflict, and `theirs` settles it without harm to /a.
    const ours3 = await fs.writeFile(await fs.unlink(base, '/b'), '/b', 'mine');
    const m3 = await mergeRoots(fs, base, ours3, theirs);
    expect(m3.conflicts.map((c) => c.path)).toEqual(['/b']);
    const settled = await settleConflicts(fs, m3.root, m3.conflicts, { strategy: 'theirs' });
    expect(text(await fs.readFile(settled.root, '/b'))).toBe('own');
    expect(text(await fs.readFile(settled.root, '/a'))).toBe('linked');
  });
});
