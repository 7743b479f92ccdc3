import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hash } from '@cafs/kv';
import type { Fs } from '../src/index.js';
import { Model, ModelError, type MNode } from './model.js';
import { bytes, codeOf, hex, newFs, text } from './helpers.js';

// Hard links against the model (a node with several names), and canonical roots: a state
// reached through links, unlinks and renames has the root of the same state built directly.

const nameArb = fc.constantFrom('a', 'b', 'c', 'z');
const dirArb = fc.constantFrom('', '/d', '/e', '/d/s');
const pathArb = fc.tuple(dirArb, nameArb).map(([d, n]) => `${d}/${n}`);
const anyPathArb = fc.oneof({ weight: 4, arbitrary: pathArb }, { weight: 1, arbitrary: dirArb.filter((d) => d !== '') });
const dataArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 90_000 }).map((n) => bytes(n, n)));

const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('writeFile' as const), path: pathArb, data: dataArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, offset: fc.integer({ min: 0, max: 60_000 }), data: dataArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unlink' as const), path: pathArb }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: anyPathArb, to: anyPathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rm' as const), path: anyPathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), from: anyPathArb, to: anyPathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: anyPathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, size: fc.integer({ min: 0, max: 70_000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.integer({ min: 0, max: 0o777 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), target: fc.constantFrom('a', '/d/a', '../b'), path: pathArb }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

// Writes and truncations stay within the file: a hole is a different state (fewer blocks) from
// written zeros, and the model does not tell them apart.
async function fsSize(fs: Fs, root: Hash, path: string): Promise<number> {
  const st = await fs.stat(root, path).catch(() => undefined);
  return st === undefined ? Infinity : Number(st.size);
}

function modelSize(m: Model, path: string): number {
  try {
    const n = m.existing(path, true).node;
    return n.type === 'file' ? n.data.length : Infinity;
  } catch {
    return Infinity;
  }
}

async function apply(fs: Fs, root: Hash, op: Op): Promise<Hash> {
  switch (op.op) {
    case 'link':
      return fs.link(root, op.from, op.to);
    case 'writeFile':
      return fs.writeFile(root, op.path, op.data);
    case 'write':
      return fs.write(root, op.path, Math.min(op.offset, await fsSize(fs, root, op.path)), op.data);
    case 'unlink':
      return fs.unlink(root, op.path);
    case 'rename':
      return fs.rename(root, op.from, op.to);
    case 'rm':
      return fs.rm(root, op.path, { recursive: true });
    case 'copy':
      return fs.copy(root, op.from, op.to, { recursive: true });
    case 'mkdir':
      return fs.mkdir(root, op.path);
    case 'truncate':
      return fs.truncate(root, op.path, Math.min(op.size, await fsSize(fs, root, op.path)));
    case 'chmod':
      return fs.chmod(root, op.path, op.mode);
    case 'symlink':
      return fs.symlink(root, op.target, op.path);
  }
}

function applyModel(m: Model, op: Op): void {
  switch (op.op) {
    case 'link':
      return m.link(op.from, op.to);
    case 'writeFile':
      return m.writeFile(op.path, op.data);
    case 'write':
      return m.write(op.path, Math.min(op.offset, modelSize(m, op.path)), op.data);
    case 'unlink':
      return m.unlink(op.path);
    case 'rename':
      return m.rename(op.from, op.to);
    case 'rm':
      return m.rm(op.path);
    case 'copy':
      return m.copy(op.from, op.to);
    case 'mkdir':
      return m.mkdir(op.path);
    case 'truncate':
      return m.truncate(op.path, Math.min(op.size, modelSize(m, op.path)));
    case 'chmod':
      return m.chmod(op.path, op.mode);
    case 'symlink':
      return m.symlink(op.target, op.path);
  }
}

/** Every name in the model: directories in order, and each other node with all its names. */
function collect(m: Model): { dirs: { path: string; mode: number }[]; nodes: Map<MNode, string[]> } {
  const dirs: { path: string; mode: number }[] = [];
  const nodes = new Map<MNode, string[]>();
  const walk = (node: MNode, path: string): void => {
    if (node.type === 'directory') {
      if (path !== '') dirs.push({ path, mode: node.mode });
      for (const [name, child] of [...node.children].sort(([a], [b]) => (a < b ? -1 : 1))) walk(child, `${path}/${name}`);
    } else {
      nodes.set(node, [...(nodes.get(node) ?? []), path]);
    }
  };
  walk(m.root, '');
  return { dirs, nodes };
}

/** The model's state built directly; `reverse`: every inode made at its last name, linked from there. */
async function direct(fs: Fs, m: Model, reverse: boolean): Promise<Hash> {
  const { dirs, nodes } = collect(m);
  const b = fs.batch(await fs.mkfs({ mtime: 1_700_000_000_000_000_000n }));
  for (const d of dirs) await b.mkdir(d.path, { mode: d.mode });
  for (const [node, names] of nodes) {
    const order = reverse ? [...names].reverse() : names;
    const first = order[0]!;
    if (node.type === 'file') {
      await b.writeFile(first, node.data);
      await b.chmod(first, node.mode);
    } else if (node.type === 'symlink') await b.symlink(node.target, first);
    for (const other of order.slice(1)) await b.link(first, other);
  }
  return b.flush();
}

async function compare(fs: Fs, root: Hash, m: Model): Promise<void> {
  const { dirs, nodes } = collect(m);
  for (const d of dirs) expect([d.path, (await fs.lstat(root, d.path)).type]).toEqual([d.path, 'directory']);
  const inos = new Set<number>();
  for (const [node, names] of nodes) {
    const first = await fs.lstat(root, names[0]!);
    expect(inos.has(first.ino)).toBe(false);
    inos.add(first.ino);
    for (const name of names) {
      const st = await fs.lstat(root, name);
      expect([name, st.type, st.nlink, st.ino]).toEqual([name, node.type, names.length, first.ino]);
      if (node.type === 'file') {
        expect([name, st.mode & 0o777]).toEqual([name, node.mode]);
        expect(Buffer.from(await fs.readFile(root, name)).equals(Buffer.from(node.data))).toBe(true);
      } else if (node.type === 'symlink') {
        expect(await fs.readlink(root, name)).toBe(node.target);
      }
    }
  }
}

describe('hard links', () => {
  it('random links, unlinks, renames and writes through any name: the model, and canonical roots', async () => {
    const counts: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const fs = newFs();
        const model = new Model();
        let root = await fs.mkfs({ mtime: 1_700_000_000_000_000_000n });
        const setup: Op[] = [
          { op: 'mkdir', path: '/d' },
          { op: 'mkdir', path: '/e' },
          { op: 'mkdir', path: '/d/s' },
          { op: 'writeFile', path: '/d/a', data: text('one') },
          { op: 'writeFile', path: '/b', data: bytes(70_000, 3) },
          { op: 'link', from: '/b', to: '/d/s/c' },
        ];
        for (const op of [...setup, ...ops]) {
          let expected: string | undefined;
          try {
            applyModel(model, op);
          } catch (err) {
            if (!(err instanceof ModelError)) throw err;
            expected = err.code;
          }
          const before = root;
          const got = await codeOf(apply(fs, root, op).then((r) => void (root = r)));
          if (got !== undefined) expect(root).toBe(before);
          expect([op, got]).toEqual([op, expected]);
          const k = `${op.op}:${got ?? 'ok'}`;
          counts[k] = (counts[k] ?? 0) + 1;
        }
        await compare(fs, root, model);
        // However the state was reached, and whichever name each inode was made at: one root.
        expect(hex(await direct(fs, model, false))).toBe(hex(root));
        expect(hex(await direct(fs, model, true))).toBe(hex(root));
      }),
      { numRuns: 200 },
    );
    // The sequences must make, move and drop links, not only fail.
    const least = { 'link:ok': 100, 'unlink:ok': 10, 'rename:ok': 10, 'rm:ok': 5, 'write:ok': 10 };
    for (const [k, n] of Object.entries(least)) expect([k, (counts[k] ?? 0) >= n]).toEqual([k, true]);
  });

  it('an inode whose least name goes keeps its data at the next one', async () => {
    const fs = newFs();
    let root = await fs.writeFile(await fs.mkfs(), '/m', bytes(100_000, 9));
    root = await fs.link(root, '/m', '/a');
    root = await fs.link(root, '/m', '/z');
    expect((await fs.stat(root, '/z')).nlink).toBe(3);
    root = await fs.unlink(root, '/a');
    root = await fs.write(root, '/z', 5, text('hello'));
    const m = await fs.readFile(root, '/m');
    expect(new TextDecoder().decode(m.subarray(5, 10))).toBe('hello');
    root = await fs.unlink(root, '/m');
    expect((await fs.stat(root, '/z')).nlink).toBe(1);
    const alone = await fs.writeFile(await fs.mkfs(), '/z', m);
    // One name left: a plain file again, as if never linked (times aside).
    expect((await fs.readFile(root, '/z')).length).toBe(100_000);
    expect(Buffer.from(await fs.readFile(alone, '/z')).equals(Buffer.from(await fs.readFile(root, '/z')))).toBe(true);
  });

  it('link errors are Node-style', async () => {
    const fs = newFs();
    let root = await fs.mkdir(await fs.mkfs(), '/dir');
    root = await fs.writeFile(root, '/f', 'x');
    expect(await codeOf(fs.link(root, '/dir', '/dir2'))).toBe('EPERM');
    expect(await codeOf(fs.link(root, '/f', '/dir'))).toBe('EEXIST');
    expect(await codeOf(fs.link(root, '/nope', '/g'))).toBe('ENOENT');
    expect(await codeOf(fs.link(root, '/f', '/nope/g'))).toBe('ENOENT');
    expect(await codeOf(fs.link(root, '/f', '/f/g'))).toBe('ENOTDIR');
  });

  it('diff reports a new name as a link to the inode', async () => {
    const fs = newFs();
    const a = await fs.writeFile(await fs.mkfs(), '/f', 'content');
    const b = await fs.link(a, '/f', '/g');
    const changes = [];
    for await (const c of fs.diff(a, b)) changes.push(c);
    const added = changes.find((c) => c.path === '/g');
    expect(added?.op).toBe('add');
    expect(added?.rightLink).toBe('/f');
    expect(added?.right?.size).toBe(7n);
  });

  it('diff pairs renames of a hard link\'s name by the content where its inode lives', async () => {
    const fs = newFs();
    let a = await fs.writeFile(await fs.mkfs(), '/a', 'content');
    a = await fs.writeFile(a, '/c', 'differs');
    a = await fs.link(a, '/a', '/b');
    const renames = async (x: Hash, y: Hash): Promise<string[][]> => {
      const out: string[][] = [];
      for await (const ch of fs.diff(x, y, { renames: true })) out.push([ch.op, ch.from ?? '', ch.path]);
      return out;
    };
    // A name of /a moved: one rename (and /a, whose list of other names changed).
    expect(await renames(a, await fs.rename(a, '/b', '/y'))).toEqual([
      ['change', '', '/a'],
      ['rename', '/b', '/y'],
    ]);
    // A name of /a went and a name of /c (same size, other bytes) came: no rename.
    const b = await fs.link(await fs.unlink(a, '/b'), '/c', '/y');
    expect(await renames(a, b)).toEqual([
      ['change', '', '/a'],
      ['change', '', '/c'],
      ['remove', '', '/b'],
      ['add', '', '/y'],
    ]);
  });

  it('diff of an inode whose data moved to another name shows only the name that went', async () => {
    const fs = newFs();
    let a = await fs.writeFile(await fs.mkfs(), '/a', bytes(50_000, 1));
    a = await fs.link(a, '/a', '/b');
    const b = await fs.unlink(a, '/a');
    const changes = [];
    for await (const c of fs.diff(a, b, { ranges: true })) changes.push(c);
    expect(changes.map((c) => [c.op, c.path])).toEqual([['remove', '/a']]);
    // A content change through the other name is a change of that name's bytes only.
    const c = await fs.write(b, '/b', 10, text('xyz'));
    const more = [];
    for await (const ch of fs.diff(a, c, { ranges: true })) more.push(ch);
    const changed = more.find((ch) => ch.path === '/b');
    expect(changed?.op).toBe('change');
    expect(changed?.leftLink).toBe('/a');
    expect(changed?.rightLink).toBeUndefined();
    expect(changed?.ranges?.length).toBeGreaterThan(0);
    expect(changed!.ranges![0]!.start).toBeLessThanOrEqual(10n);
  });
});

describe('directory link counts', () => {
  it('subdirCount follows mkdir, rmdir and renames of directories in and out', async () => {
    const fs = newFs();
    let r = await fs.mkfs();
    for (const d of ['/a', '/b', '/a/x', '/a/y', '/b/z']) r = await fs.mkdir(r, d);
    r = await fs.writeFile(r, '/a/file', 'f');
    r = await fs.writeFile(r, '/a/x/deep', bytes(5000, 2));
    expect([await fs.subdirCount(r, '/'), await fs.subdirCount(r, '/a'), await fs.subdirCount(r, '/b')]).toEqual([2, 2, 1]);
    r = await fs.rename(r, '/b/z', '/a/z');
    expect([await fs.subdirCount(r, '/a'), await fs.subdirCount(r, '/b')]).toEqual([3, 0]);
    r = await fs.rmdir(r, '/a/y');
    expect(await fs.subdirCount(r, '/a')).toBe(2);
    expect(await fs.subdirCount(r, '/a', 2)).toBeUndefined();
    expect(await codeOf(fs.subdirCount(r, '/a/file'))).toBe('ENOTDIR');
  });
});
