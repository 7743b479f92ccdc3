// Structural diff of two filesystem roots, driven by the tree diff: its cost grows with the
// size of the change, and identical roots cost nothing.
import { bytesToHex, compareBytes, equalBytes, sha256, type DiffEntry, type Hash } from '@cafs/kv';
import { decodeExtent, extentLength } from './extent.js';
import { decodeInfo, encodeInfo, isLinkRecord, linkRecordTarget, type Info } from './info.js';
import { extentEnd, extentKey, extentOwner, extentRange, infoKey, isExtentKey, keyNames, prefixEnd } from './keys.js';
import { splitPath, type PathLike } from './path.js';
import type { Fs } from './fs.js';
import { FsError } from './errors.js';

export interface ByteRange {
  start: bigint;
  end: bigint;
}

export interface FsChange {
  op: 'add' | 'remove' | 'change' | 'rename';
  path: string;
  pathBytes: Uint8Array;
  /** For 'rename': where it was. */
  from?: string;
  /** The info in the first root (absent for 'add'). */
  left?: Info;
  /** The info in the second root (absent for 'remove'). */
  right?: Info;
  /**
   * Hard links: on that side this name is one of an inode's other names, and this is the path of
   * the inode's least name, which holds it (`left`/`right` are then the inode's info).
   */
  leftLink?: string;
  rightLink?: string;
  /** With `ranges`: the byte ranges of a changed file whose content differs. */
  ranges?: ByteRange[];
}

export interface FsDiffOptions {
  /** Only this path and what is below it. */
  path?: PathLike;
  /** Report the byte ranges that changed inside modified files. */
  ranges?: boolean;
  /** Report a file removed in one place and added in another with the same content as one rename. */
  renames?: boolean;
  /** Only changes after this path in key order (its own descendants still follow): to resume. */
  after?: PathLike;
  signal?: AbortSignal;
}

export interface DiffPageOptions extends Omit<FsDiffOptions, 'after'> {
  /** Where the previous page ended (its `next`). */
  after?: string | undefined;
  /** At most this many paths examined per page (a rename counts two); default 1000. */
  limit?: number;
}

export interface DiffPage {
  changes: FsChange[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

const decoder = new TextDecoder();

/** Equal apart from ctime and the list of other names. */
function sameInode(x: Info, y: Info): boolean {
  return equalBytes(encodeInfo({ ...x, ctimeNs: 0n, links: undefined }), encodeInfo({ ...y, ctimeNs: 0n, links: undefined }));
}

interface Group {
  key: Uint8Array;
  infoLeft?: Uint8Array | undefined;
  infoRight?: Uint8Array | undefined;
  infoChanged: boolean;
  extents: DiffEntry[];
  /** Where the inode of an added or removed name lives, when that is another key (a hard link's name). */
  inodeAt?: Uint8Array | undefined;
}

function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: ByteRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ ...r });
  }
  return out;
}

/** The byte ranges covered by changed extents, and any change of size. */
function changedRanges(g: Group, left: Info | undefined, right: Info | undefined): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (const d of g.extents) {
    const end = extentEnd(d.key);
    for (const v of [d.left, d.right]) {
      if (v !== undefined) ranges.push({ start: end - BigInt(extentLength(decodeExtent(v))), end });
    }
  }
  if (left && right && left.size !== right.size) {
    ranges.push(left.size < right.size ? { start: left.size, end: right.size } : { start: right.size, end: left.size });
  }
  return mergeRanges(ranges);
}

/** How far a bounded walk went: the caller's cursor for the next page. */
interface PageState {
  limit: number;
  groups: number;
  lastKey?: Uint8Array;
  stopped: boolean;
}

export function diffRoots(fs: Fs, a: Hash, b: Hash, options: FsDiffOptions = {}): AsyncGenerator<FsChange> {
  return walkDiff(fs, a, b, options);
}

/**
 * One page of `diffRoots`: memory is bounded by `limit`. Renames are matched within a page
 * (a file moved across a page boundary shows as a remove and an add).
 */
export async function diffPage(fs: Fs, a: Hash, b: Hash, options: DiffPageOptions = {}): Promise<DiffPage> {
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new FsError('EINVAL', 'diff', undefined, 'limit must be a positive integer');
  const state: PageState = { limit, groups: 0, stopped: false };
  const changes: FsChange[] = [];
  for await (const c of walkDiff(fs, a, b, options, state)) changes.push(c);
  if (!state.stopped || state.lastKey === undefined) return { changes };
  return { changes, next: '/' + keyNames(state.lastKey).map((n) => decoder.decode(n)).join('/') };
}

async function* walkDiff(fs: Fs, a: Hash, b: Hash, options: FsDiffOptions, page?: PageState): AsyncGenerator<FsChange> {
  if (compareBytes(a, b) === 0) return;
  const tree = fs.tree;
  let range: { gte?: Uint8Array; lt?: Uint8Array } = {};
  if (options.path !== undefined) {
    const key = infoKey(splitPath(options.path, 'diff'));
    range = { gte: key, lt: prefixEnd(key) };
  }
  if (options.after !== undefined) {
    // After the path's info and extents ("/p/" and "/p/\0..."), before its children ("/p/x/").
    const key = infoKey(splitPath(options.after, 'diff'));
    const from = new Uint8Array(key.length + 1);
    from.set(key);
    from[key.length] = 1;
    if (range.gte === undefined || compareBytes(from, range.gte) > 0) range.gte = from;
  }

  /** A name's info on one side; a hard link's other name is read through to its inode. */
  const sideInfo = async (root: Hash, bytes: Uint8Array | undefined, key: Uint8Array): Promise<{ info: Info; at: Uint8Array; link?: string } | undefined> => {
    if (bytes === undefined) return undefined;
    if (!isLinkRecord(bytes)) return { info: decodeInfo(bytes), at: key };
    const at = linkRecordTarget(bytes);
    const inode = await tree.get(root, at);
    if (inode === undefined || isLinkRecord(inode)) throw new FsError('EINVAL', 'diff', undefined, 'a hard link names a key that holds no inode');
    return { info: decodeInfo(inode), at, link: '/' + keyNames(at).map((n) => decoder.decode(n)).join('/') };
  };

  /** A file's extents where its inode lives on one side, by end offset. */
  const extentsAt = async (root: Hash, at: Uint8Array): Promise<Map<bigint, Uint8Array>> => {
    const out = new Map<bigint, Uint8Array>();
    for await (const e of tree.entries(root, extentRange(at))) out.set(extentEnd(e.key), e.value);
    return out;
  };

  /**
   * The extent changes of a name whose inode lives at another key on at least one side (a hard
   * link's other name, or an inode whose least name changed): its extents are compared where
   * they live, so data that only moved between names is no change.
   */
  const movedExtents = async (key: Uint8Array, l: Uint8Array, r: Uint8Array): Promise<DiffEntry[]> => {
    const [x, y] = await Promise.all([extentsAt(a, l), extentsAt(b, r)]);
    const out: DiffEntry[] = [];
    for (const [end, v] of x) {
      const w = y.get(end);
      if (w === undefined || !equalBytes(v, w)) out.push({ key: extentKey(key, end), left: v, right: w });
    }
    for (const [end, w] of y) if (!x.has(end)) out.push({ key: extentKey(key, end), left: undefined, right: w });
    return out;
  };

  const toChange = async (g: Group): Promise<FsChange | undefined> => {
    const leftBytes = g.infoChanged ? g.infoLeft : await tree.get(a, g.key);
    const rightBytes = g.infoChanged ? g.infoRight : await tree.get(b, g.key);
    const l = await sideInfo(a, leftBytes, g.key);
    const r = await sideInfo(b, rightBytes, g.key);
    const left = l?.info;
    const right = r?.info;
    if (left === undefined && right === undefined) return undefined;
    if (l !== undefined && r !== undefined && (l.link !== undefined || r.link !== undefined || compareBytes(l.at, r.at) !== 0)) {
      g.extents = left!.type === 'file' && right!.type === 'file' ? await movedExtents(g.key, l.at, r.at) : [];
      // Only the list of other names (and ctime) changed on the name itself: no change of its own.
      if (g.extents.length === 0 && sameInode(left!, right!)) return undefined;
    }
    const op = left === undefined ? 'add' : right === undefined ? 'remove' : 'change';
    const side = op === 'add' ? r : op === 'remove' ? l : undefined;
    if (side !== undefined && compareBytes(side.at, g.key) !== 0) g.inodeAt = side.at;
    const names = keyNames(g.key);
    const change: FsChange = { op, path: '/' + names.map((n) => decoder.decode(n)).join('/'), pathBytes: g.key.subarray(0, g.key.length - 1) };
    if (change.pathBytes.length === 0) change.pathBytes = g.key;
    if (left) change.left = left;
    if (right) change.right = right;
    if (l?.link !== undefined) change.leftLink = l.link;
    if (r?.link !== undefined) change.rightLink = r.link;
    if (options.ranges && op === 'change' && (g.extents.length > 0 || left!.size !== right!.size)) change.ranges = changedRanges(g, left, right);
    return change;
  };

  const pendingRenames: { change: FsChange; signature: string }[] = [];
  /** What a rename must keep: type, size, target and the extents (where the inode lives, for a hard link's name). */
  const signatureOf = async (g: Group, side: 'left' | 'right', info: Info): Promise<string> => {
    const parts: string[] = [info.type, String(info.size), info.target ? bytesToHex(info.target) : ''];
    if (g.inodeAt !== undefined) {
      for (const [end, v] of await extentsAt(side === 'left' ? a : b, g.inodeAt)) parts.push(bytesToHex(sha256(v)) + ':' + String(end));
      return parts.join('|');
    }
    for (const d of g.extents) {
      const v = side === 'left' ? d.left : d.right;
      if (v !== undefined) parts.push(bytesToHex(sha256(v)) + ':' + String(extentEnd(d.key)));
    }
    return parts.join('|');
  };

  let group: Group | undefined;
  const flushGroup = async function* (): AsyncGenerator<FsChange> {
    if (group === undefined) return;
    const g = group;
    group = undefined;
    const change = await toChange(g);
    if (change === undefined) return;
    if (page !== undefined) {
      page.groups++;
      page.lastKey = g.key;
    }
    if (options.renames && (change.op === 'add' || change.op === 'remove') && change[change.op === 'add' ? 'right' : 'left']!.type !== 'directory') {
      pendingRenames.push({ change, signature: await signatureOf(g, change.op === 'add' ? 'right' : 'left', (change.right ?? change.left)!) });
      return;
    }
    yield change;
  };

  for await (const d of tree.diff(a, b, { ...range, signal: options.signal })) {
    const owner = isExtentKey(d.key) ? extentOwner(d.key) : d.key;
    if (group === undefined || compareBytes(group.key, owner) !== 0) {
      yield* flushGroup();
      if (page !== undefined && page.groups >= page.limit) {
        page.stopped = true;
        break;
      }
      group = { key: owner, infoChanged: false, extents: [] };
    }
    if (owner === d.key) {
      group.infoChanged = true;
      group.infoLeft = d.left;
      group.infoRight = d.right;
    } else {
      group.extents.push(d);
    }
  }
  yield* flushGroup();

  if (pendingRenames.length > 0) {
    // Match removed and added files by content; the rest stay adds and removes.
    const removed = new Map<string, FsChange[]>();
    for (const p of pendingRenames) {
      if (p.change.op === 'remove') {
        const list = removed.get(p.signature) ?? [];
        list.push(p.change);
        removed.set(p.signature, list);
      }
    }
    const out: FsChange[] = [];
    const used = new Set<FsChange>();
    for (const p of pendingRenames) {
      if (p.change.op !== 'add') continue;
      const match = removed.get(p.signature)?.find((c) => !used.has(c));
      if (match !== undefined) {
        used.add(match);
        out.push({ ...p.change, op: 'rename', from: match.path, left: match.left! });
      } else out.push(p.change);
    }
    for (const p of pendingRenames) if (p.change.op === 'remove' && !used.has(p.change)) out.push(p.change);
    out.sort((x, y) => compareBytes(x.pathBytes, y.pathBytes));
    yield* out;
  }
}

export { FsError };
