// mergeRoots against a model of three-way merge on plain maps (path -> directory | bytes):
// random edits on each side of a common base, with some edits shared by both sides.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryBlobStore, type Hash } from '@cafs/kv';
import { Fs } from '@cafs/fs';
import { mergeRoots, type ConflictKind } from '../src/merge.js';

type Node = { t: 'dir' } | { t: 'file'; c: Uint8Array };
type Model = Map<string, Node>;

type Edit =
  | { op: 'write'; path: string; content: Uint8Array }
  | { op: 'mkdir'; path: string }
  | { op: 'rm'; path: string }
  | { op: 'patch'; path: string; offset: number; bytes: Uint8Array }
  | { op: 'truncate'; path: string; length: number };

const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';
const isDir = (m: Model, p: string): boolean => p === '/' || m.get(p)?.t === 'dir';
const under = (p: string, q: string): boolean => q === p || q.startsWith(p + '/');

function patched(c: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(c.length, offset + bytes.length));
  out.set(c);
  out.set(bytes, offset);
  return out;
}

function truncated(c: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(c.subarray(0, Math.min(length, c.length)));
  return out;
}

/** Applies the edits that make sense in the model's state to both the model and the fs. */
async function apply(fs: Fs, root: Hash, model: Model, edits: readonly Edit[]): Promise<Hash> {
  const b = fs.batch(root);
  for (const e of edits) {
    const node = model.get(e.path);
    switch (e.op) {
      case 'write':
        if (!isDir(model, parentOf(e.path)) || node?.t === 'dir') continue;
        await b.writeFile(e.path, e.content);
        model.set(e.path, { t: 'file', c: e.content });
        break;
      case 'mkdir':
        if (!isDir(model, parentOf(e.path)) || node !== undefined) continue;
        await b.mkdir(e.path);
        model.set(e.path, { t: 'dir' });
        break;
      case 'rm':
        if (node === undefined) continue;
        await b.rm(e.path, { recursive: true });
        for (const k of [...model.keys()]) if (under(e.path, k)) model.delete(k);
        break;
      case 'patch': {
        if (node?.t !== 'file') continue;
        const offset = e.offset % (node.c.length + 3);
        await b.write(e.path, offset, e.bytes);
        model.set(e.path, { t: 'file', c: patched(node.c, offset, e.bytes) });
        break;
      }
      case 'truncate': {
        if (node?.t !== 'file') continue;
        const length = e.length % (node.c.length + 4);
        await b.truncate(e.path, length);
        model.set(e.path, { t: 'file', c: truncated(node.c, length) });
        break;
      }
    }
  }
  return b.flush();
}

async function readModel(fs: Fs, root: Hash): Promise<Model> {
  const m: Model = new Map();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(root, dir, { withFileTypes: true })) {
      const p = dir === '/' ? '/' + e.name : dir + '/' + e.name;
      if (e.type === 'directory') {
        m.set(p, { t: 'dir' });
        await walk(p);
      } else m.set(p, { t: 'file', c: await fs.readFile(root, p) });
    }
  };
  await walk('/');
  return m;
}

const sameNode = (x: Node | undefined, y: Node | undefined): boolean =>
  x === undefined || y === undefined
    ? x === y
    : x.t === y.t && (x.t === 'dir' || Buffer.from(x.c).equals(Buffer.from((y as { c: Uint8Array }).c)));

function subtreeEq(x: Model, y: Model, p: string): boolean {
  const keys = new Set([...x.keys(), ...y.keys()].filter((k) => under(p, k)));
  for (const k of keys) if (!sameNode(x.get(k), y.get(k))) return false;
  return true;
}

/** Bytes a side changed from base: differing positions, and the span of a size change. */
function changedPositions(b: Uint8Array, s: Uint8Array): Set<number> {
  const out = new Set<number>();
  const common = Math.min(b.length, s.length);
  for (let i = 0; i < common; i++) if (b[i] !== s[i]) out.add(i);
  for (let i = common; i < Math.max(b.length, s.length); i++) out.add(i);
  return out;
}

/** The model of three-way merge: what mergeRoots should produce. */
function modelMerge(B: Model, O: Model, T: Model): { result: Model; conflicts: Map<string, ConflictKind> } {
  const result: Model = new Map();
  const conflicts = new Map<string, ConflictKind>();
  const copy = (from: Model, p: string): void => {
    for (const [k, v] of from) if (under(p, k)) result.set(k, v);
  };
  const children = (p: string): string[] => {
    const names = new Set<string>();
    for (const m of [B, O, T]) for (const k of m.keys()) if (parentOf(k) === p) names.add(k);
    return [...names].sort();
  };
  const visit = (dir: string): void => {
    for (const p of children(dir)) {
      const b = B.get(p);
      const o = O.get(p);
      const t = T.get(p);
      if (o?.t === 'dir' && t?.t === 'dir') {
        result.set(p, o);
        visit(p);
      } else if (subtreeEq(O, T, p) || subtreeEq(T, B, p)) copy(O, p);
      else if (subtreeEq(O, B, p)) copy(T, p);
      else if (b?.t === 'file' && o?.t === 'file' && t?.t === 'file') {
        const co = changedPositions(b.c, o.c);
        const ct = changedPositions(b.c, t.c);
        if ([...ct].some((i) => co.has(i))) {
          conflicts.set(p, 'content');
          copy(O, p);
        } else {
          const len = t.c.length !== b.c.length ? t.c.length : o.c.length;
          const c = new Uint8Array(len);
          for (let i = 0; i < len; i++) c[i] = ct.has(i) ? t.c[i]! : o.c[i]!;
          result.set(p, { t: 'file', c });
        }
      } else {
        conflicts.set(p, o !== undefined && t !== undefined && o.t !== t.t ? 'type' : o === undefined || t === undefined ? 'delete-modify' : 'content');
        copy(O, p);
      }
    }
  };
  visit('/');
  return { result, conflicts };
}

// ---- generators ----

const NAMES = ['a', 'b', 'c'];
const pathArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant('/s') },
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((ns) => '/' + ns.join('/')) },
);
const smallBytes = (max: number) => fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: max }).map((xs) => Uint8Array.from(xs, (x) => 0x61 + x));
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, content: smallBytes(12) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rm' as const), path: pathArb }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('patch' as const), path: pathArb, offset: fc.nat(60), bytes: smallBytes(4).filter((x) => x.length > 0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, length: fc.nat(60) }) },
  // Byte-range edits of the shared file, so that both sides often edit it.
  { weight: 4, arbitrary: fc.record({ op: fc.constant('patch' as const), path: fc.constant('/s'), offset: fc.nat(60), bytes: smallBytes(3).filter((x) => x.length > 0) }) },
);
const edits = (max: number) => fc.array(editArb, { maxLength: max });

describe('mergeRoots against a model of three-way merge', () => {
  it('conflicts exactly where both sides changed the same thing differently; everything else merges', async () => {
    let conflictRuns = 0;
    let rangeMergeRuns = 0;
    let cleanRuns = 0;
    await fc.assert(
      fc.asyncProperty(edits(12), edits(4), edits(8), edits(8), async (baseEdits, shared, oursEdits, theirsEdits) => {
        let clock = 1_700_000_000_000_000_000n;
        const fs = new Fs(new MemoryBlobStore(), { now: () => (clock += 1000n) });
        const B: Model = new Map();
        let base = await fs.mkfs();
        base = await apply(fs, base, B, [{ op: 'write', path: '/s', content: Uint8Array.from({ length: 40 }, (_, i) => 0x41 + (i % 26)) }, ...baseEdits]);
        const O: Model = new Map(B);
        const T: Model = new Map(B);
        const ours = await apply(fs, base, O, [...shared, ...oursEdits]);
        const theirs = await apply(fs, base, T, [...shared, ...theirsEdits]);

        const expected = modelMerge(B, O, T);
        const { root, conflicts, stats } = await mergeRoots(fs, base, ours, theirs);

        const got = new Map(conflicts.map((c) => [c.path, c.kind] as const));
        expect(conflicts.length).toBe(got.size); // one conflict per path
        expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected.conflicts));
        const merged = await readModel(fs, root);
        const show = (m: Model) => Object.fromEntries([...m].sort().map(([k, v]) => [k, v.t === 'dir' ? 'dir' : Buffer.from(v.c).toString('latin1')]));
        expect(show(merged)).toEqual(show(expected.result));
        // Each conflict says what each side holds there and keeps ours.
        for (const c of conflicts) {
          expect(c.resolution).toBe('ours');
          expect(c.ours?.type).toBe(O.get(c.path) === undefined ? undefined : O.get(c.path)!.t === 'dir' ? 'directory' : 'file');
          expect(c.theirs?.type).toBe(T.get(c.path) === undefined ? undefined : T.get(c.path)!.t === 'dir' ? 'directory' : 'file');
          expect(c.roots).toEqual({ base, ours, theirs });
        }
        if (conflicts.length > 0) conflictRuns++;
        else cleanRuns++;
        if (stats.rangeMerges > 0) rangeMergeRuns++;
        // Merging is symmetric in what it settles: the same paths conflict the other way round.
        const swapped = await mergeRoots(fs, base, theirs, ours);
        expect(swapped.conflicts.map((c) => c.path).sort()).toEqual([...got.keys()].sort());
      }),
      { numRuns: Number(process.env.MERGE_RUNS ?? 300) },
    );
    // The generators reach every interesting case.
    expect(conflictRuns).toBeGreaterThan(10);
    expect(cleanRuns).toBeGreaterThan(10);
    expect(rangeMergeRuns).toBeGreaterThan(3);
    if (process.env.MERGE_RUNS) console.log({ conflictRuns, cleanRuns, rangeMergeRuns });
  });

  it('identical edits on both sides never conflict and give that same tree', async () => {
    await fc.assert(
      fc.asyncProperty(edits(10), edits(10), async (baseEdits, both) => {
        let clock = 1_700_000_000_000_000_000n;
        const fs = new Fs(new MemoryBlobStore(), { now: () => (clock += 1000n) });
        const B: Model = new Map();
        const base = await apply(fs, await fs.mkfs(), B, baseEdits);
        const O: Model = new Map(B);
        const T: Model = new Map(B);
        const ours = await apply(fs, base, O, both);
        const theirs = await apply(fs, base, T, both);
        const { root, conflicts } = await mergeRoots(fs, base, ours, theirs);
        expect(conflicts).toEqual([]);
        expect([...(await readModel(fs, root))].sort()).toEqual([...O].sort());
      }),
      { numRuns: 100 },
    );
  });
});
