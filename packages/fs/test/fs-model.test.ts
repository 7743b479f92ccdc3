import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Hash } from '@cafs/kv';
import type { Fs } from '../src/index.js';
import { Model, ModelError, type MNode } from './model.js';
import { codeOf, newFs } from './helpers.js';

const nameArb = fc.constantFrom('a', 'b', 'c');
const pathArb = fc
  .oneof({ weight: 2, arbitrary: fc.array(nameArb, { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: fc.array(nameArb, { minLength: 3, maxLength: 3 }) })
  .map((n) => '/' + n.join('/'));
const targetArb = fc.oneof(pathArb, fc.array(fc.constantFrom('a', 'b', '..'), { minLength: 1, maxLength: 3 }).map((n) => n.join('/')));
const dataArb = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((n) => new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => new Uint8Array(n)) },
);

const opArb = fc.oneof(
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('mkdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('writeFile' as const), path: pathArb, data: dataArb }),
  fc.record({ op: fc.constant('writeFile' as const), path: pathArb, data: dataArb }),
  fc.record({ op: fc.constant('write' as const), path: pathArb, offset: fc.integer({ min: 0, max: 100_000 }), data: dataArb }),
  fc.record({ op: fc.constant('truncate' as const), path: pathArb, size: fc.integer({ min: 0, max: 150_000 }) }),
  fc.record({ op: fc.constant('unlink' as const), path: pathArb }),
  fc.record({ op: fc.constant('rmdir' as const), path: pathArb }),
  fc.record({ op: fc.constant('rm' as const), path: pathArb }),
  fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('copy' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('symlink' as const), target: targetArb, path: pathArb }),
  fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('link' as const), from: pathArb, to: pathArb }),
  fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.integer({ min: 0, max: 0o777 }) }),
  fc.record({ op: fc.constant('setxattr' as const), path: pathArb, name: fc.constantFrom('user.x', 'user.y'), value: fc.string({ maxLength: 5 }) }),
  fc.record({ op: fc.constant('removexattr' as const), path: pathArb, name: fc.constantFrom('user.x', 'user.y') }),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

async function apply(fs: Fs, root: Hash, op: Op): Promise<Hash> {
  switch (op.op) {
    case 'mkdir':
      return fs.mkdir(root, op.path);
    case 'writeFile':
      return fs.writeFile(root, op.path, op.data);
    case 'write':
      return fs.write(root, op.path, op.offset, op.data);
    case 'truncate':
      return fs.truncate(root, op.path, op.size);
    case 'unlink':
      return fs.unlink(root, op.path);
    case 'rmdir':
      return fs.rmdir(root, op.path);
    case 'rm':
      return fs.rm(root, op.path, { recursive: true });
    case 'rename':
      return fs.rename(root, op.from, op.to);
    case 'copy':
      return fs.copy(root, op.from, op.to, { recursive: true });
    case 'symlink':
      return fs.symlink(root, op.target, op.path);
    case 'link':
      return fs.link(root, op.from, op.to);
    case 'chmod':
      return fs.chmod(root, op.path, op.mode);
    case 'setxattr':
      return fs.setxattr(root, op.path, op.name, new TextEncoder().encode(op.value));
    case 'removexattr':
      return fs.removexattr(root, op.path, op.name);
  }
}

function applyModel(m: Model, op: Op): void {
  switch (op.op) {
    case 'mkdir':
      return m.mkdir(op.path);
    case 'writeFile':
      return m.writeFile(op.path, op.data);
    case 'write':
      return m.write(op.path, op.offset, op.data);
    case 'truncate':
      return m.truncate(op.path, op.size);
    case 'unlink':
      return m.unlink(op.path);
    case 'rmdir':
      return m.rmdir(op.path);
    case 'rm':
      return m.rm(op.path);
    case 'rename':
      return m.rename(op.from, op.to);
    case 'copy':
      return m.copy(op.from, op.to);
    case 'symlink':
      return m.symlink(op.target, op.path);
    case 'link':
      return m.link(op.from, op.to);
    case 'chmod':
      return m.chmod(op.path, op.mode);
    case 'setxattr':
      return m.setxattr(op.path, op.name, op.value);
    case 'removexattr':
      return m.removexattr(op.path, op.name);
  }
}

/** How many names each model node has. */
function nameCounts(node: MNode, counts = new Map<MNode, number>()): Map<MNode, number> {
  counts.set(node, (counts.get(node) ?? 0) + 1);
  if (node.type === 'directory' && counts.get(node) === 1) for (const c of node.children.values()) nameCounts(c, counts);
  return counts;
}

/**
 * Compares the whole tree below `path` (links not followed); hard links: every name of one model
 * node has its nlink and one inode number, and different nodes different numbers.
 */
async function compareTree(fs: Fs, root: Hash, node: MNode, path: string, links = { counts: nameCounts(node), inos: new Map<MNode, number>(), owners: new Map<number, MNode>() }): Promise<void> {
  const st = await fs.lstat(root, path);
  if (node.type !== 'directory') {
    expect([path, st.nlink]).toEqual([path, links.counts.get(node)]);
    const ino = links.inos.get(node) ?? st.ino;
    expect([path, st.ino]).toEqual([path, ino]);
    expect(links.owners.get(ino) ?? node).toBe(node);
    links.inos.set(node, ino);
    links.owners.set(ino, node);
  }
  expect([path, st.type]).toEqual([path, node.type]);
  expect([path, st.mode & 0o7777]).toEqual([path, node.mode]);
  const xattrs = (await fs.listxattr(root, path).catch(() => [] as string[])).sort();
  if (node.type !== 'symlink') expect([path, xattrs]).toEqual([path, [...node.xattrs.keys()].sort()]);
  if (node.type === 'file') {
    expect([path, st.size]).toEqual([path, BigInt(node.data.length)]);
    const data = await fs.readFile(root, path);
    expect(Buffer.from(data).equals(Buffer.from(node.data))).toBe(true);
  } else if (node.type === 'symlink') {
    expect(await fs.readlink(root, path)).toBe(node.target);
  } else {
    const names = await fs.readdir(root, path);
    expect([path, names]).toEqual([path, [...node.children.keys()].sort()]);
    for (const [name, child] of node.children) await compareTree(fs, root, child, (path === '/' ? '' : path) + '/' + name, links);
  }
}

const stats: Record<string, number> = {};
describe('filesystem against a POSIX model', () => {
  it('random operation sequences: same results, same errors, same tree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(pathArb, { maxLength: 5 }), async (ops, probes) => {
        const fs = newFs();
        const model = new Model();
        let root = await fs.mkfs();
        const setup: Op[] = [
          { op: 'mkdir', path: '/a' },
          { op: 'mkdir', path: '/b' },
          { op: 'mkdir', path: '/a/b' },
          { op: 'writeFile', path: '/a/c', data: new Uint8Array([1, 2, 3]) },
          { op: 'writeFile', path: '/c', data: new Uint8Array(5000).fill(9) },
        ];
        for (const op of [...setup, ...ops]) {
          let expected: string | undefined;
          try {
            applyModel(model, op);
          } catch (err) {
            if (!(err instanceof ModelError)) throw err;
            expected = err.code;
          }
          let got: string | undefined;
          const before = root;
          try {
            root = await apply(fs, root, op);
          } catch (err) {
            got = (err as { code?: string }).code;
            if (got === undefined) throw err;
            expect(root).toBe(before);
          }
          expect([op, got]).toEqual([op, expected]);
          stats[got ?? 'ok'] = (stats[got ?? 'ok'] ?? 0) + 1;
        }
        await compareTree(fs, root, model.root, '/');
        for (const p of probes) {
          let want: string | undefined;
          let size: bigint | undefined;
          try {
            const r = model.existing(p, true);
            size = r.node.type === 'file' ? BigInt(r.node.data.length) : undefined;
          } catch (err) {
            want = (err as ModelError).code;
          }
          expect(await codeOf(fs.stat(root, p))).toBe(want);
          if (size !== undefined) expect((await fs.stat(root, p)).size).toBe(size);
        }
      }),
      { numRuns: 200 },
    );
    // The sequences must mostly do things, not only fail.
    expect(stats.ok ?? 0).toBeGreaterThan(500);
    expect(Object.keys(stats).length).toBeGreaterThan(5);
  });
});
