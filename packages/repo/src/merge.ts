// Three-way merge of filesystem roots, and of branches on top of it.
//
// mergeRoots walks only the two diffs (base -> ours, base -> theirs), joined path by path in
// key order, and applies what theirs changed onto ours in one batch: its cost grows with the
// size of the changes, never with the size of the trees.
import { bytesToHex, compareBytes, equalBytes, type Hash } from '@cafs/kv';
import { keyOfPath, startsWith } from './path-keys.js';
import { decodeInfo, encodeInfo, type Batch, type ByteRange, type Fs, type FsChange, type Info, type Xattr } from '@cafs/fs';

export type ConflictKind =
  /** Both sides changed a file's bytes (or a link's target) in overlapping places, differently. */
  | 'content'
  /** One side removed what the other changed (for a directory: anything inside it). */
  | 'delete-modify'
  /** The two sides left different types at the path (file, directory, symlink). */
  | 'type'
  /** Mode, owner or extended attributes changed differently on both sides. */
  | 'metadata';

export interface MergeRoots {
  base: Hash;
  ours: Hash;
  theirs: Hash;
}

/**
 * A path the merge could not settle. The merged tree keeps ours at `path` (for a directory,
 * ours' whole subtree); theirs' version is `theirs` at `path` in `roots.theirs`, and below it.
 */
export interface Conflict {
  path: string;
  pathBytes: Uint8Array;
  kind: ConflictKind;
  /** The info in each root (absent where the path does not exist). */
  base?: Info | undefined;
  ours?: Info | undefined;
  theirs?: Info | undefined;
  /**
   * What the merged tree holds at the path: ours (mergeRoots always), or after a branch
   * merge's strategy theirs, or the file's lines with conflict markers.
   */
  resolution: 'ours' | 'theirs' | 'markers';
  /** Whether theirs' changes below the path were left out too (the conflict covers them). */
  subtree: boolean;
  /** For 'content' conflicts of files: the bytes each side changed (precise, not per extent). */
  ranges?: { ours: ByteRange[]; theirs: ByteRange[] } | undefined;
  /** For 'metadata' conflicts: the fields both sides changed differently. */
  fields?: string[] | undefined;
  /** The three roots, to recover every side. */
  roots: MergeRoots;
}

export interface MergeOptions {
  signal?: AbortSignal | undefined;
}

export interface MergeStats {
  /** Paths changed on ours' side, and on theirs'. */
  oursChanges: number;
  theirsChanges: number;
  /** Paths taken from theirs whole. */
  takenFromTheirs: number;
  /** Files whose byte ranges from both sides were combined. */
  rangeMerges: number;
}

export interface MergeResult {
  root: Hash;
  conflicts: Conflict[];
  stats: MergeStats;
}

/** Bytes compared or copied per read when refining and applying byte ranges. */
const WINDOW = 1 << 20;

interface Slot {
  key: Uint8Array;
  path: string;
  pathBytes: Uint8Array;
  o?: FsChange | undefined;
  t?: FsChange | undefined;
}

const keyOf = (c: FsChange): Uint8Array => keyOfPath(c.pathBytes);

function prefixEnd(key: Uint8Array): Uint8Array {
  const end = key.slice();
  end[end.length - 1]! += 1;
  return end;
}

/** The bounds of a file's extent keys: info key + 0x00 .. info key + 0x01. */
function extentBounds(key: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const gte = new Uint8Array(key.length + 1);
  gte.set(key);
  const lt = gte.slice();
  lt[key.length] = 1;
  return { gte, lt };
}

// ---- metadata ----

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function sameXattrs(a: readonly Xattr[], b: readonly Xattr[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equalBytes(a[i]!.name, b[i]!.name) || !equalBytes(a[i]!.value, b[i]!.value)) return false;
  return true;
}

const sameTarget = (a: Info, b: Info): boolean =>
  a.target === undefined ? b.target === undefined : b.target !== undefined && equalBytes(a.target, b.target);

/** Equal apart from times and content: type, mode, owner, xattrs, link target. */
function sameMeta(a: Info, b: Info): boolean {
  return a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && sameTarget(a, b) && sameXattrs(a.xattrs, b.xattrs);
}

/** A slot about which inode a name has rather than its bytes: see RootMerger.nameChange. */
function namesSlot(s: Slot, O: Info | undefined, T: Info | undefined): boolean {
  for (const c of [s.o, s.t]) if (c?.leftLink !== undefined || c?.rightLink !== undefined) return true;
  const linked = (x: Info | undefined): boolean => (x?.links?.length ?? 0) > 0;
  return (T === undefined && linked(O)) || (O === undefined && linked(s.o?.left));
}

/** Whether a change is more than new times (a touched directory, a file rewritten as it was). */
function significant(c: FsChange | undefined): boolean {
  if (c === undefined) return false;
  if (c.op !== 'change') return true;
  const l = c.left!;
  const r = c.right!;
  if (!sameMeta(l, r) || l.size !== r.size) return true;
  return c.ranges !== undefined && c.ranges.length > 0;
}

function merge3<T>(b: T | undefined, o: T | undefined, t: T | undefined, eq: (x: T | undefined, y: T | undefined) => boolean): { ok: true; value: T | undefined } | { ok: false } {
  if (eq(o, t)) return { ok: true, value: o };
  if (eq(o, b)) return { ok: true, value: t };
  if (eq(t, b)) return { ok: true, value: o };
  return { ok: false };
}

const eqNum = (x: number | undefined, y: number | undefined): boolean => x === y;
const eqBytes = (x: Uint8Array | undefined, y: Uint8Array | undefined): boolean =>
  x === undefined ? y === undefined : y !== undefined && equalBytes(x, y);

interface MetaMerge {
  /** Fields both sides changed differently. */
  conflicts: string[];
  mode: number;
  uid: number;
  gid: number;
  xattrs: Xattr[];
}

/** Field by field three-way merge of mode, owner and extended attributes (each by name). */
function mergeMeta(b: Info | undefined, o: Info, t: Info): MetaMerge {
  const out: MetaMerge = { conflicts: [], mode: o.mode, uid: o.uid, gid: o.gid, xattrs: o.xattrs };
  for (const f of ['mode', 'uid', 'gid'] as const) {
    const m = merge3(b?.[f], o[f], t[f], eqNum);
    if (m.ok) out[f] = m.value!;
    else out.conflicts.push(f);
  }
  if (!sameXattrs(o.xattrs, t.xattrs)) {
    const maps = [b?.xattrs ?? [], o.xattrs, t.xattrs].map((xs) => new Map(xs.map((x) => [bytesToHex(x.name), x] as const)));
    const names = new Set([...maps[0]!.keys(), ...maps[1]!.keys(), ...maps[2]!.keys()]);
    const xattrs: Xattr[] = [];
    for (const n of names) {
      const [xb, xo, xt] = maps.map((m) => m.get(n));
      const m = merge3(xb?.value, xo?.value, xt?.value, eqBytes);
      if (!m.ok) {
        out.conflicts.push(`xattr:${new TextDecoder().decode((xo ?? xt)!.name)}`);
        continue;
      }
      if (m.value !== undefined) xattrs.push({ name: (xo ?? xt ?? xb)!.name, value: m.value });
    }
    out.xattrs = xattrs.sort((x, y) => compareBytes(x.name, y.name));
  }
  return out;
}

// ---- byte ranges ----

function sortRuns(runs: ByteRange[]): ByteRange[] {
  runs.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: ByteRange[] = [];
  for (const r of runs) {
    if (r.end <= r.start) continue;
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ start: r.start, end: r.end });
  }
  return out;
}

function overlaps(a: readonly ByteRange[], b: readonly ByteRange[]): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]!.end <= b[j]!.start) i++;
    else if (b[j]!.end <= a[i]!.start) j++;
    else return true;
  }
  return false;
}

/** Windows of at most WINDOW bytes covering [start, end). */
function* windows(start: bigint, end: bigint): Generator<[bigint, number]> {
  for (let at = start; at < end; ) {
    const n = end - at < BigInt(WINDOW) ? Number(end - at) : WINDOW;
    yield [at, n];
    at += BigInt(n);
  }
}

export class MergeAbortedError extends Error {}

/** Merges roots; one instance per call. */
class RootMerger {
  readonly conflicts: Conflict[] = [];
  readonly stats: MergeStats = { oursChanges: 0, theirsChanges: 0, takenFromTheirs: 0, rangeMerges: 0 };
  readonly roots: MergeRoots;
  private readonly b: Batch;
  private readonly nameChanges: (() => Promise<void>)[] = [];

  constructor(
    readonly fs: Fs,
    base: Hash,
    ours: Hash,
    theirs: Hash,
    readonly options: MergeOptions,
  ) {
    this.roots = { base, ours, theirs };
    this.b = fs.batch(ours);
  }

  private conflict(s: Slot, kind: ConflictKind, extra: Partial<Conflict> = {}): void {
    const base = (s.o ?? s.t)?.left;
    this.conflicts.push({
      path: s.path,
      pathBytes: s.pathBytes,
      kind,
      base,
      ours: s.o ? s.o.right : base,
      theirs: s.t ? s.t.right : base,
      resolution: 'ours',
      subtree: false,
      roots: this.roots,
      ...extra,
    });
  }

  private async collect(to: Hash): Promise<FsChange[]> {
    const out: FsChange[] = [];
    for await (const c of this.fs.diff(this.roots.base, to, { ranges: true, signal: this.options.signal })) out.push(c);
    return out;
  }

  /** Both diffs joined by key. */
  private async slots(): Promise<Slot[]> {
    const [os, ts] = await Promise.all([this.collect(this.roots.ours), this.collect(this.roots.theirs)]);
    this.stats.oursChanges = os.length;
    this.stats.theirsChanges = ts.length;
    const out: Slot[] = [];
    let i = 0;
    let j = 0;
    while (i < os.length || j < ts.length) {
      const ko = i < os.length ? keyOf(os[i]!) : undefined;
      const kt = j < ts.length ? keyOf(ts[j]!) : undefined;
      const cmp = ko === undefined ? 1 : kt === undefined ? -1 : compareBytes(ko, kt);
      const c = cmp <= 0 ? os[i]! : ts[j]!;
      const slot: Slot = { key: cmp <= 0 ? ko! : kt!, path: c.path, pathBytes: c.pathBytes };
      if (cmp <= 0) slot.o = os[i++];
      if (cmp >= 0) slot.t = ts[j++];
      out.push(slot);
    }
    return out;
  }

  async run(): Promise<MergeResult> {
    const { base, ours, theirs } = this.roots;
    if (equalBytes(ours, theirs) || equalBytes(base, theirs)) return { root: ours, conflicts: [], stats: this.stats };
    if (equalBytes(base, ours)) return { root: theirs, conflicts: [], stats: this.stats };
    const slots = await this.slots();
    const n = slots.length;
    const subtreeEnd = (i: number): number => {
      let j = i + 1;
      while (j < n && startsWith(slots[j]!.key, slots[i]!.key)) j++;
      return j;
    };
    const anySignificant = (from: number, to: number, side: 'o' | 't'): boolean => {
      for (let j = from; j < to; j++) if (significant(slots[j]![side])) return true;
      return false;
    };

    for (let i = 0; i < n; ) {
      this.options.signal?.throwIfAborted();
      const s = slots[i]!;
      const oSig = significant(s.o);
      const tSig = significant(s.t);
      const B = (s.o ?? s.t)!.left;
      const O = s.o ? s.o.right : B;
      const T = s.t ? s.t.right : B;
      const wasDir = B?.type === 'directory';

      if (namesSlot(s, O, T)) {
        this.nameChange(s, oSig, tSig, O, T);
        i++;
      } else if (!oSig && !tSig) {
        // New times at most: keep ours with the later of both times.
        if (s.t !== undefined && O !== undefined && T !== undefined) this.putTimes(s.key, O, T);
        i++;
      } else if (oSig && !tSig) {
        if (wasDir && O?.type !== 'directory') {
          // Ours removed or replaced a directory: fine unless theirs changed something inside.
          const end = subtreeEnd(i);
          if (anySignificant(i + 1, end, 't')) this.conflict(s, O === undefined ? 'delete-modify' : 'type', { subtree: true });
          i = end;
        } else {
          if (s.t !== undefined && O !== undefined && T !== undefined && O.type === T.type) this.putTimes(s.key, O, T);
          i++;
        }
      } else if (!oSig && tSig) {
        if (wasDir && T?.type !== 'directory') {
          const end = subtreeEnd(i);
          if (anySignificant(i + 1, end, 'o')) {
            this.conflict(s, T === undefined ? 'delete-modify' : 'type', { subtree: true });
          } else {
            // Through the filesystem: inodes with names outside the directory keep them.
            await this.b.rm(s.pathBytes, { recursive: true });
            if (T !== undefined) await this.takeTheirs(s.key, O, T, false);
          }
          i = end;
        } else {
          await this.takeTheirs(s.key, O, T, true);
          i++;
        }
      } else {
        i = await this.both(s, O, T, B, i, subtreeEnd);
      }
    }
    for (const change of this.nameChanges) await change();
    const root = await this.b.flush({ signal: this.options.signal });
    return { root, conflicts: this.conflicts, stats: this.stats };
  }

  /**
   * A name that is (or was, on a side) one of a hard-linked inode's other names, or a linked
   * inode's name that theirs removed: what changes there is which inode the name has, so theirs'
   * change is made with link and unlink on the merged tree (after every path's bytes and metadata
   * are merged, in key order: an inode's least name, which links name, comes first). Bytes of a
   * linked inode merge at the key that holds them, like any file's.
   */
  private nameChange(s: Slot, oSig: boolean, tSig: boolean, O: Info | undefined, T: Info | undefined): void {
    const oursLink = s.o ? s.o.rightLink : s.t?.leftLink;
    const theirsLink = s.t ? s.t.rightLink : s.o?.leftLink;
    if (!tSig) return;
    if (oSig) {
      const agree = (O === undefined && T === undefined) || (O !== undefined && T !== undefined && oursLink !== undefined && oursLink === theirsLink);
      if (!agree) this.conflict(s, O === undefined || T === undefined ? 'delete-modify' : 'content');
      return;
    }
    // Both names of one inode on both sides: its bytes changed, and merge where they live.
    if (theirsLink !== undefined && theirsLink === oursLink) return;
    this.stats.takenFromTheirs++;
    this.nameChanges.push(async () => {
      const path = s.pathBytes;
      const here = await this.b.lstat(path, { throwIfNoEntry: false });
      if (here?.isDirectory()) return this.conflict(s, 'type');
      if (here !== undefined) await this.b.unlink(path);
      if (T === undefined) return;
      if (theirsLink !== undefined) {
        const inode = await this.b.lstat(theirsLink, { throwIfNoEntry: false });
        if (inode !== undefined && !inode.isDirectory()) return this.b.link(theirsLink, path);
      }
      // Theirs' own file (or a link whose inode the merge no longer has): its content, one name.
      await this.b.copyFrom(this.roots.theirs, path, path);
    });
  }

  /** Both sides changed the path (beyond times). Returns the next slot index. */
  private async both(s: Slot, O: Info | undefined, T: Info | undefined, B: Info | undefined, i: number, subtreeEnd: (i: number) => number): Promise<number> {
    if (O === undefined && T === undefined) return subtreeEnd(i); // removed on both sides
    if (O === undefined || T === undefined) {
      this.conflict(s, 'delete-modify', { subtree: subtreeEnd(i) > i + 1 });
      return subtreeEnd(i);
    }
    if (O.type !== T.type) {
      this.conflict(s, 'type', { subtree: subtreeEnd(i) > i + 1 });
      return subtreeEnd(i);
    }
    const meta = mergeMeta(B, O, T);
    if (O.type === 'directory') {
      if (meta.conflicts.length > 0) this.conflict(s, 'metadata', { fields: meta.conflicts });
      else this.putInfo(s.key, O, { ...O, mode: meta.mode, uid: meta.uid, gid: meta.gid, xattrs: meta.xattrs }, T);
      return i + 1;
    }
    if (O.type === 'symlink') {
      const target = merge3(B?.type === 'symlink' ? B.target : undefined, O.target, T.target, eqBytes);
      if (!target.ok) this.conflict(s, 'content', meta.conflicts.length > 0 ? { fields: meta.conflicts } : {});
      else if (meta.conflicts.length > 0) this.conflict(s, 'metadata', { fields: meta.conflicts });
      else {
        const t = target.value!;
        this.putInfo(s.key, O, { ...O, mode: meta.mode, uid: meta.uid, gid: meta.gid, xattrs: meta.xattrs, target: t, size: BigInt(t.length) }, T);
      }
      return i + 1;
    }
    await this.mergeFile(s, B, O, T, meta);
    return i + 1;
  }

  /** The bytes side `root` changed from base, precisely, within the diff's (per extent) ranges. */
  private async refine(s: Slot, base: Info, side: Info, root: Hash, coarse: readonly ByteRange[] | undefined): Promise<ByteRange[]> {
    const runs: ByteRange[] = [];
    const common = base.size < side.size ? base.size : side.size;
    if (base.size !== side.size) runs.push({ start: common, end: base.size > side.size ? base.size : side.size });
    for (const r of coarse ?? []) {
      const end = r.end < common ? r.end : common;
      for (const [at, len] of windows(r.start, end)) {
        const [x, y] = await Promise.all([
          this.fs.read(this.roots.base, s.pathBytes, { offset: at, length: len }),
          this.fs.read(root, s.pathBytes, { offset: at, length: len }),
        ]);
        let runStart = -1;
        for (let k = 0; k <= len; k++) {
          const differs = k < len && x[k] !== y[k];
          if (differs && runStart < 0) runStart = k;
          else if (!differs && runStart >= 0) {
            runs.push({ start: at + BigInt(runStart), end: at + BigInt(k) });
            runStart = -1;
          }
        }
      }
    }
    return sortRuns(runs);
  }

  /** Whether ours and theirs hold the same bytes (equal sizes) over `runs`. */
  private async sameOver(s: Slot, runs: readonly ByteRange[]): Promise<boolean> {
    for (const r of runs) {
      for (const [at, len] of windows(r.start, r.end)) {
        const [x, y] = await Promise.all([
          this.fs.read(this.roots.ours, s.pathBytes, { offset: at, length: len }),
          this.fs.read(this.roots.theirs, s.pathBytes, { offset: at, length: len }),
        ]);
        if (!equalBytes(x, y)) return false;
      }
    }
    return true;
  }

  private async mergeFile(s: Slot, B: Info | undefined, O: Info, T: Info, meta: MetaMerge): Promise<void> {
    let content: 'ours' | 'theirs' | 'ranges' | 'conflict';
    let runsO: ByteRange[] = [];
    let runsT: ByteRange[] = [];
    if (B === undefined || B.type !== 'file') {
      // Added (or made a file) on both sides: no common bytes to merge against.
      const all = [{ start: 0n, end: O.size }];
      content = O.size === T.size && (await this.sameOver(s, all)) ? 'ours' : 'conflict';
      if (content === 'conflict') {
        runsO = O.size > 0n ? all : [];
        runsT = T.size > 0n ? [{ start: 0n, end: T.size }] : [];
      }
    } else {
      [runsO, runsT] = await Promise.all([
        s.o!.ranges ? this.refine(s, B, O, this.roots.ours, s.o!.ranges) : [],
        s.t!.ranges ? this.refine(s, B, T, this.roots.theirs, s.t!.ranges) : [],
      ]);
      if (runsT.length === 0) content = 'ours';
      else if (runsO.length === 0) content = 'theirs';
      else if (!overlaps(runsO, runsT)) content = 'ranges';
      else if (O.size === T.size && (await this.sameOver(s, sortRuns([...runsO, ...runsT])))) content = 'ours';
      else content = 'conflict';
    }
    if (content === 'conflict') {
      this.conflict(s, 'content', { ranges: { ours: runsO, theirs: runsT }, ...(meta.conflicts.length > 0 ? { fields: meta.conflicts } : {}) });
      return;
    }
    if (meta.conflicts.length > 0) {
      this.conflict(s, 'metadata', { fields: meta.conflicts });
      return;
    }
    const withMeta = (info: Info): Info => ({ ...info, mode: meta.mode, uid: meta.uid, gid: meta.gid, xattrs: meta.xattrs });
    if (content === 'ours') {
      this.putInfo(s.key, O, withMeta(O), T);
    } else if (content === 'theirs') {
      await this.copyExtents(s.key);
      this.putInfo(s.key, O, withMeta(T), O);
      this.stats.takenFromTheirs++;
    } else {
      await this.applyRanges(s, B!, O, T, runsO, runsT);
      // Size and allocation from the writes; times from the sides, not the clock.
      const written = decodeInfo((await this.b.txn.get(s.key))!);
      this.putInfo(s.key, O, withMeta({ ...written, mtimeNs: O.mtimeNs, ctimeNs: O.ctimeNs }), T, true);
      this.stats.rangeMerges++;
    }
  }

  /** Writes theirs' changed bytes onto ours (which changed other bytes only). */
  private async applyRanges(s: Slot, B: Info, _O: Info, T: Info, runsO: readonly ByteRange[], runsT: readonly ByteRange[]): Promise<void> {
    // Coalesce theirs' runs across gaps ours did not touch: there ours, base and theirs agree,
    // so fewer, longer writes give the same bytes.
    const writes: ByteRange[] = [];
    let k = 0;
    for (const r of runsT) {
      const start = r.start;
      const end = r.end < T.size ? r.end : T.size;
      if (end <= start) continue;
      const last = writes[writes.length - 1];
      if (last !== undefined) {
        while (k < runsO.length && runsO[k]!.end <= last.end) k++;
        const oursInGap = k < runsO.length && runsO[k]!.start < start;
        if (!oursInGap) {
          last.end = end;
          continue;
        }
      }
      writes.push({ start, end });
    }
    for (const w of writes) {
      for (const [at, len] of windows(w.start, w.end)) {
        const bytes = await this.fs.read(this.roots.theirs, s.pathBytes, { offset: at, length: len });
        await this.b.write(s.pathBytes, at, bytes);
      }
    }
    if (T.size < B.size) await this.b.truncate(s.pathBytes, T.size);
  }

  /** Replaces ours' extents of a file with theirs'. */
  private async copyExtents(key: Uint8Array): Promise<void> {
    const bounds = extentBounds(key);
    const old: Uint8Array[] = [];
    for await (const e of this.b.txn.entries(bounds)) old.push(e.key);
    for (const k of old) this.b.txn.del(k);
    for await (const e of this.fs.tree.entries(this.roots.theirs, bounds)) this.b.txn.put(e.key, e.value);
  }

  /**
   * Takes theirs at the path: info (with the later times when ours exists too) and content.
   * `dropOurs`: whether ours may hold extents there still (not after a range delete).
   */
  private async takeTheirs(key: Uint8Array, O: Info | undefined, T: Info | undefined, dropOurs: boolean): Promise<void> {
    this.stats.takenFromTheirs++;
    if (T === undefined) {
      this.b.txn.del(key);
      if (dropOurs && O?.type === 'file') for (const k of await this.keysOf(extentBounds(key))) this.b.txn.del(k);
      return;
    }
    const times = O !== undefined && O.type === T.type ? { mtimeNs: maxBig(O.mtimeNs, T.mtimeNs), ctimeNs: maxBig(O.ctimeNs, T.ctimeNs) } : {};
    // Ours' other names stay (theirs' link changes are made by nameChange).
    const info: Info = { ...T, ...times, links: O !== undefined && O.type === T.type ? O.links : undefined };
    this.b.txn.put(key, encodeInfo(info));
    if (T.type === 'file') {
      if (dropOurs && O?.type === 'file') await this.copyExtents(key);
      else for await (const e of this.fs.tree.entries(this.roots.theirs, extentBounds(key))) this.b.txn.put(e.key, e.value);
    } else if (dropOurs && O?.type === 'file') {
      for (const k of await this.keysOf(extentBounds(key))) this.b.txn.del(k);
    }
  }

  private async keysOf(bounds: { gte: Uint8Array; lt: Uint8Array }): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    for await (const e of this.b.txn.entries(bounds)) keys.push(e.key);
    return keys;
  }

  /** Ours with the later of both sides' times. */
  private putTimes(key: Uint8Array, O: Info, T: Info): void {
    this.putInfo(key, O, O, T);
  }

  /**
   * Writes `info` with the later of its and `other`'s times, unless ours already holds exactly
   * that (`force`: the batch changed the info since, so write it anyway).
   */
  private putInfo(key: Uint8Array, ours: Info, info: Info, other: Info, force = false): void {
    // The list of other names is ours' (theirs' link changes are made by nameChange).
    const next = { ...info, links: ours.links, mtimeNs: maxBig(info.mtimeNs, other.mtimeNs), ctimeNs: maxBig(info.ctimeNs, other.ctimeNs) };
    const bytes = encodeInfo(next);
    if (!force && equalBytes(bytes, encodeInfo(ours))) return;
    this.b.txn.put(key, bytes);
  }
}

/**
 * Three-way merge of filesystem roots: what changed from `base` to `theirs` applied onto
 * `ours`, path by path (directories recursively; files whole, or by byte range when both sides
 * changed different bytes of one file). Changes made on one side apply; identical changes
 * apply once; the rest are conflicts, where the merged tree keeps ours (mergeRefs settles them further: merge-resolve.ts).
 */
export async function mergeRoots(fs: Fs, base: Hash, ours: Hash, theirs: Hash, options: MergeOptions = {}): Promise<MergeResult> {
  return new RootMerger(fs, base, ours, theirs, options).run();
}
