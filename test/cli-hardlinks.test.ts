// Hard links through `cafs import`, `cafs export` and `cafs diff` (issue 21), as tar and rsync -H
// keep them: names of one inode on disk are one inode in the root (the same root however the
// links were made), export makes them one inode again (also over an older export), and diff
// says a new name is a link.
import { linkSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cafs, run } from './run-cafs.js';

let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cafs-hardlinks-'));
  expect((await cafs(work, 'init')).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function ok(...args: string[]): Promise<string> {
  const r = await cafs(work, ...args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const rootOf = (importOutput: string): string => /^root ([0-9a-f]{64})$/m.exec(importOutput)![1]!;

/** The names of each inode with more than one name below `dir`, as sorted lists (sorted too). */
async function linkGroups(dir: string): Promise<string[][]> {
  const { stdout } = await run('find', [dir, '!', '-type', 'd', '-printf', '%i %P\n']);
  const byIno = new Map<string, string[]>();
  for (const line of stdout.trim().split('\n')) {
    const [ino, name] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
    if (name === '..root') continue;
    byIno.set(ino, [...(byIno.get(ino) ?? []), name]);
  }
  return [...byIno.values()]
    .filter((g) => g.length > 1)
    .map((g) => g.sort())
    .sort((x, y) => (x[0]! < y[0]! ? -1 : 1));
}

/** `stat -c '%h'` of a path: its number of names. */
const nlink = async (p: string): Promise<number> => Number((await run('stat', ['-c', '%h', p])).stdout.trim());

const BIG = Buffer.alloc(2_500_000 + 17);
for (let i = 0, x = 7; i < BIG.length; i++) BIG[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;

/** The groups the tree below has (relative names): each list one inode. */
const GROUPS = [
  ['a.txt', 'sub/a-link', 'z.txt'],
  ['big.bin', 'sub/deep/big-copy'],
  ['sym', 'sub/sym2'],
];

/**
 * A tree with hard links: three files in a group (one name in a subdirectory), a file larger than
 * the read-whole bound in a group, a hard-linked symbolic link, and plain files, two of them with
 * equal content (not linked). `reverse` makes every link from the other name, and the files in
 * another order; times are set after, in whole seconds (what tar keeps), so both trees are equal.
 */
function build(name: string, reverse = false): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  const dirs = reverse ? ['sub/deep', 'sub', ''] : ['', 'sub', 'sub/deep'];
  for (const d of dirs) mkdirSync(join(dir, d), { recursive: true });
  const content: Record<string, string | Buffer> = { 'a.txt': 'alpha\n', 'big.bin': BIG };
  const plain: [string, string][] = [
    ['plain.txt', 'same\n'],
    ['sub/plain2.txt', 'same\n'],
    ['sub/deep/only.txt', 'only\n'],
  ];
  for (const [p, data] of reverse ? [...plain].reverse() : plain) writeFileSync(join(dir, p), data);
  for (const group of reverse ? [...GROUPS].reverse() : GROUPS) {
    const names = reverse ? [...group].reverse() : group;
    const first = names[0]!;
    if (group[0] === 'sym') symlinkSync('a.txt', join(dir, first));
    else writeFileSync(join(dir, first), content[group[0]!]!);
    for (const other of names.slice(1)) linkSync(join(dir, first), join(dir, other));
  }
  const t = 1_700_000_000;
  for (const [p] of plain) utimesSync(join(dir, p), t + 1, t + 1);
  utimesSync(join(dir, 'a.txt'), t + 2, t + 2);
  utimesSync(join(dir, 'big.bin'), t + 3, t + 3);
  lutimesSync(join(dir, 'sym'), t + 4, t + 4);
  for (const d of ['sub/deep', 'sub', '']) utimesSync(join(dir, d), t + 10, t + 10);
  return dir;
}

describe('hard links through import and export', () => {
  let src: string;
  let root: string;

  it('import records each group as one inode, read once', async () => {
    src = build('src');
    const r = await cafs(work, 'import', src, '--json', '-m', 'links');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { root: string; files: number; symlinks: number; links: number; bytes: number };
    // 9 file names and 2 symlink names, 4 of them other names of an inode met before.
    expect(j).toMatchObject({ files: 8, symlinks: 2, links: 4 });
    // Each inode's content read once: alpha, big, same twice, only.
    expect(j.bytes).toBe(6 + BIG.length + 5 + 5 + 5);
    root = j.root;
    const ls = await ok('ls', '-l', 'main');
    expect(ls).toMatch(/^-rw-r--r-- 3 .* a\.txt$/m);
    expect(ls).toMatch(/^-rw-r--r-- 3 .* z\.txt$/m);
    expect(ls).toMatch(/^-rw-r--r-- 2 .* big\.bin$/m);
    expect(ls).toMatch(/^lrwxrwxrwx 2 .* sym -> a\.txt$/m);
    expect(ls).toMatch(/^-rw-r--r-- 1 .* plain\.txt$/m);
    // A directory's count is 2 and its subdirectories, as on tmpfs.
    expect(ls).toMatch(/^drwxr-xr-x 3 .* sub\/$/m);
    const stat = async (p: string): Promise<{ nlink: number; ino: number }> => JSON.parse(await ok('stat', '--json', `main:${p}`)) as { nlink: number; ino: number };
    const a = await stat('/a.txt');
    expect(a.nlink).toBe(3);
    expect(await stat('/sub/a-link')).toMatchObject({ nlink: 3, ino: a.ino });
    expect(await stat('/z.txt')).toMatchObject({ nlink: 3, ino: a.ino });
    expect((await stat('/plain.txt')).nlink).toBe(1);
    expect((await stat('/sub')).nlink).toBe(3);
    expect((await stat('/sub/plain2.txt')).ino).not.toBe((await stat('/plain.txt')).ino);
    expect(await ok('cat', 'main:/sub/a-link')).toBe('alpha\n');
  });

  it('export makes the same groups, content byte for byte', async () => {
    const out = join(work, 'out');
    expect(await ok('export', 'main', out)).toContain('(4 of them hard links)');
    await run('diff', ['-r', '--no-dereference', src, out]);
    expect(await linkGroups(out)).toEqual(GROUPS.map((g) => [...g].sort()));
    expect(await nlink(join(out, 'a.txt'))).toBe(3);
    expect(await nlink(join(out, 'plain.txt'))).toBe(1);
    expect((await run('find', [out, '-samefile', join(out, 'big.bin')])).stdout.trim().split('\n').sort()).toEqual([join(out, 'big.bin'), join(out, 'sub/deep/big-copy')]);
    // Again onto itself: everything is up to date, nothing written.
    expect(await ok('export', 'main', out)).toContain('(0 written)');
    expect(await linkGroups(out)).toEqual(GROUPS.map((g) => [...g].sort()));
    // And the exported tree imports to the same root.
    expect(rootOf(await ok('import', out, '-b', 'again'))).toBe(root);
  });

  it('the same tree with its links made the other way round gives the same root', async () => {
    const other = build('reversed', true);
    expect(rootOf(await ok('import', other, '-b', 'reversed'))).toBe(root);
    const repro = rootOf(await ok('import', src, '-b', 'repro', '--reproducible'));
    expect(rootOf(await ok('import', other, '-b', 'repro2', '--reproducible'))).toBe(repro);
    expect(repro).not.toBe(root);
  });

  it('a tar of the tree, extracted, imports to the same root', async () => {
    const tar = join(work, 'tree.tar');
    await run('tar', ['-cf', tar, '-C', src, '.']);
    // tar keeps hard links as such: 4 link members (names after the first of their inode).
    expect((await run('tar', ['-tvf', tar])).stdout.match(/ link to /g)).toHaveLength(4);
    const x = join(work, 'untarred');
    mkdirSync(x);
    await run('tar', ['-xpf', tar, '-C', x]);
    expect(rootOf(await ok('import', x, '-b', 'tar'))).toBe(root);
    // And the other way: a tar of an export lists the same links.
    const out = join(work, 'out');
    const tar2 = join(work, 'out.tar');
    await run('tar', ['-cf', tar2, '-C', out, '.']);
    expect((await run('tar', ['-tvf', tar2])).stdout.match(/ link to /g)).toHaveLength(4);
  });

  it('a name whose other names are outside the imported directory is a file of its own', async () => {
    expect(await ok('import', join(src, 'sub'), '-b', 'sub')).toMatch(/: 4 files, 2 directories, 1 symlinks, /);
    const ls = await ok('ls', '-l', 'sub');
    expect(ls).toMatch(/^-rw-r--r-- 1 .* a-link$/m);
    expect(ls).toMatch(/^lrwxrwxrwx 1 .* sym2 -> a\.txt$/m);
    expect(await ok('ls', '-l', 'sub:/deep')).toMatch(/^-rw-r--r-- 1 .* big-copy$/m);
    // Exported, the subtree's own groups only.
    const out = join(work, 'out-sub');
    await ok('export', 'main:/sub', out);
    expect(await linkGroups(out)).toEqual([]);
  });
});

/** A tree from a description: each entry a list of names of one inode and its content; fixed times. */
function tree(name: string, inodes: [string[], string][]): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [names, data] of inodes) {
    writeFileSync(join(dir, names[0]!), data);
    utimesSync(join(dir, names[0]!), 1_700_000_000, 1_700_000_000);
    for (const n of names.slice(1)) linkSync(join(dir, names[0]!), join(dir, n));
  }
  utimesSync(dir, 1_700_000_100, 1_700_000_100);
  return dir;
}

const V1: [string[], string][] = [
  [['f1'], 'same\n'],
  [['f2'], 'same\n'],
  [['g1', 'g2'], 'gee\n'],
  [['h'], 'h\n'],
];
// f1 and f2 linked, g1 and g2 apart (equal content), h gets a second name, k is new.
const V2: [string[], string][] = [
  [['f1', 'f2'], 'same\n'],
  [['g1'], 'gee\n'],
  [['g2'], 'gee\n'],
  [['h', 'h2'], 'h\n'],
  [['k'], 'k\n'],
];
// h (both names) changes.
const V3: [string[], string][] = [
  [['f1', 'f2'], 'same\n'],
  [['g1'], 'gee\n'],
  [['g2'], 'gee\n'],
  [['h', 'h2'], 'h changed\n'],
  [['k'], 'k\n'],
];
const groupsOf = (v: [string[], string][]): string[][] => v.filter(([n]) => n.length > 1).map(([n]) => [...n].sort());

describe('export onto an older export', () => {
  beforeAll(async () => {
    for (const [i, v] of [V1, V2, V3].entries()) await ok('import', tree(`v${i + 1}`, v), '-b', 'v', '-m', `v${i + 1}`);
  });

  it('plain: links made and broken as the tree says; a changed inode replaced, not written through', async () => {
    const out = join(work, 'older');
    await ok('export', 'v~2', out);
    expect(await linkGroups(out)).toEqual(groupsOf(V1));
    // Someone else's hard link to an exported file, outside the export.
    const outside = join(work, 'outside-h');
    linkSync(join(out, 'h'), outside);
    // v2 differs from v1 only in links (and a new file): nothing to refuse.
    await ok('export', 'v~1', out);
    expect(await linkGroups(out)).toEqual(groupsOf(V2));
    await run('diff', ['-r', join(work, 'v2'), out]);
    expect(await nlink(join(out, 'h'))).toBe(3); // h, h2 and the outside name
    // v3 changes h's content: refused without --force, then replaced by a new inode.
    const refused = await cafs(work, 'export', 'v', out);
    expect(refused.code).toBe(1);
    // One report for the inode (h2 is h on disk: not read again).
    expect(refused.stderr).toMatch(/refusing to overwrite .*\/older\/h \(they differ/);
    await ok('export', 'v', out, '--force');
    expect(await linkGroups(out)).toEqual(groupsOf(V3));
    await run('diff', ['-r', join(work, 'v3'), out]);
    expect(readFileSync(outside, 'utf8')).toBe('h\n');
    expect(await nlink(outside)).toBe(1);
  });

  it('--atomic: each version has the tree\'s links, unchanged and changed inodes alike', async () => {
    const www = join(work, 'www');
    for (const [i, v] of [V1, V2, V3].entries()) {
      await ok('export', '--atomic', `v~${2 - i}`, www);
      const data = join(www, '..data') + '/';
      expect(await linkGroups(data)).toEqual(groupsOf(v));
      await run('diff', ['-r', '-x', '..root', join(work, `v${i + 1}`), data]);
    }
  });
});

describe('cafs diff of links', () => {
  it('a new name of a file is a hard link, not new content; a name linked or unlinked says so', async () => {
    const patch = await ok('diff', 'v~2', 'v~1');
    // f2 became a link to f1 (same content: no hunk), g2 no longer one of g1, h2 and k are new.
    expect(patch).toContain('diff --cafs a/f2 b/f2\nhard link to /f1\n');
    expect(patch).toContain('diff --cafs a/g2 b/g2\nno longer a hard link to /g1\n');
    expect(patch).toContain('diff --cafs a/h2 b/h2\nnew file mode 100644\nhard link to /h\ndiff');
    expect(patch).toContain('diff --cafs a/k b/k\nnew file mode 100644\n--- /dev/null\n+++ b/k\n@@ -0,0 +1,1 @@\n+k\n');
    // f1, g1 and h only gained or lost names: nothing to show.
    expect(patch).not.toMatch(/a\/(f1|g1|h) /);
    expect(await ok('diff', 'v~2', 'v~1', '--ranges')).toBe('M /f2 (hard link to /f1)\nM /g2 (no longer a hard link to /g1)\nA /h2 (hard link to /h)\nA /k\n');
    expect(await ok('diff', 'v~2', 'v~1', '--name-status')).toBe('M\t/f2\nM\t/g2\nA\t/h2\nA\t/k\n');
    // New bytes: k's two, not h2's.
    expect(await ok('diff', 'v~2', 'v~1', '--stat')).toMatch(/; 2 bytes differ\n$/);
    const j = JSON.parse(await ok('diff', 'v~2', 'v~1', '--json')) as { path: string; hardLinkTo?: string; wasHardLinkTo?: string; right?: { nlink?: number } }[];
    expect(j.find((c) => c.path === '/h2')).toMatchObject({ hardLinkTo: '/h', right: { nlink: 2 } });
    expect(j.find((c) => c.path === '/g2')).toMatchObject({ wasHardLinkTo: '/g1', right: { nlink: 1 } });
    // A changed linked file shows its content once, at the name that holds it.
    const changed = await ok('diff', 'v~1', 'v');
    expect(changed).toContain('diff --cafs a/h b/h\n--- a/h\n+++ b/h\n@@ -1,1 +1,1 @@\n-h\n+h changed\n');
    expect(changed).not.toContain('a/h2');
  });

  it('names all new show the content once; names removed while another stays say so', async () => {
    await ok('import', tree('w1', [[['keep', 'x'], 'shared\n']]), '-b', 'w');
    await ok('import', tree('w2', [[['keep'], 'shared\n'], [['n1', 'n2', 'n3'], 'new\n']]), '-b', 'w');
    const patch = await ok('diff', 'w~1', 'w');
    expect(patch).toContain('diff --cafs a/n1 b/n1\nnew file mode 100644\n--- /dev/null\n+++ b/n1\n@@ -0,0 +1,1 @@\n+new\n');
    expect(patch).toContain('diff --cafs a/n2 b/n2\nnew file mode 100644\nhard link to /n1\n');
    expect(patch).toContain('diff --cafs a/n3 b/n3\nnew file mode 100644\nhard link to /n1\n');
    expect(patch).toContain('diff --cafs a/x b/x\ndeleted file mode 100644\nwas a hard link to /keep\n');
    expect(patch).not.toContain('a/keep');
  });

  it('a link removed and another of a different file added are no rename; a link renamed is one', async () => {
    await ok('import', tree('r1', [[['a', 'b'], '11'], [['c', 'x'], '22']]), '-b', 'r');
    // b goes, y (a name of c, same size as b) comes: not "b renamed to y".
    await ok('import', tree('r2', [[['a'], '11'], [['c', 'x', 'y'], '22']]), '-b', 'r');
    expect(await ok('diff', 'r~1', 'r', '--name-status')).toBe('D\t/b\nA\t/y\n');
    expect(await ok('diff', 'r~1', 'r')).toBe('diff --cafs a/b b/b\ndeleted file mode 100644\nwas a hard link to /a\ndiff --cafs a/y b/y\nnew file mode 100644\nhard link to /c\n');
    await ok('import', tree('r3', [[['a'], '11'], [['c', 'x', 'z'], '22']]), '-b', 'r');
    expect(await ok('diff', 'r~1', 'r', '--ranges')).toBe('R /z (from /y)\n');
  });
});
