// Operations on names: unlink, rm, rename, copy and link, with hard links kept canonical
// (link-groups.ts): an inode's info and data stay at its least name however its names change.
import { compareBytes } from '@cafs/kv';
import { FsError } from './errors.js';
import { decodeInfo, encodeInfo, isLinkRecord, linkRecordTarget, type Info } from './info.js';
import { extentRange, isExtentKey, prefixEnd } from './keys.js';
import { TreeReader } from './kv-view.js';
import type { Hash } from '@cafs/kv';
import { LINKED_INFO_MAX, LINK_MAX, concatKey, inodeInfo, inodesIn, isLinked, isUnder, keyId, namesOf, recordHasLinks, sortedKeys, writeInode } from './link-groups.js';
import { showPath, type PathLike } from './path.js';
import { readFound, readInfo, resolve, type Resolved } from './resolve.js';
import type { TxnOps } from './txn-ops.js';

type Existing = Resolved & { info: Info };

/** Removes one non-directory name; an inode with other names keeps them (and its data). */
export async function removeName(o: TxnOps, r: Existing): Promise<void> {
  if (!isLinked(r.info)) {
    o.txn.del(r.nameKey);
    if (r.info.type === 'file') await o.dropExtents(r.key);
    return;
  }
  const names = namesOf(r.key, r.info).filter((k) => compareBytes(k, r.nameKey) !== 0);
  await writeInode(o.txn, names, { ...r.info, ctimeNs: o.ctx.now() }, r.key, []);
  // When this was the least name, writeInode moved the data to the next one.
  o.txn.del(r.nameKey);
}

/** link(2): a new name for an existing non-directory. */
export async function link(o: TxnOps, existing: PathLike, newPath: PathLike): Promise<void> {
  const r = await resolve(o.txn, existing, 'link', false);
  if (r.info === undefined) throw new FsError('ENOENT', 'link', showPath(existing), undefined, showPath(newPath));
  // Linux's order: the new name is looked up (EEXIST) before the inode is checked (EPERM).
  const d = await resolve(o.txn, newPath, 'link', false);
  if (d.info !== undefined) throw new FsError('EEXIST', 'link', showPath(existing), undefined, showPath(newPath));
  await o.newEntryParent(d, 'link', newPath);
  if (r.info.type === 'directory') throw new FsError('EPERM', 'link', showPath(existing), 'hard links to directories are not allowed', showPath(newPath));
  const names = sortedKeys([...namesOf(r.key, r.info), d.nameKey]);
  const info: Info = { ...r.info, ctimeNs: o.ctx.now() };
  if (names.length > LINK_MAX || encodeInfo(inodeInfo(names, info)).length > LINKED_INFO_MAX) {
    throw new FsError('EMLINK', 'link', showPath(existing), undefined, showPath(newPath));
  }
  await writeInode(o.txn, names, info, r.key, [d.nameKey]);
  await o.touchDir(d.parentKey);
}

/** Removes a path; with `recursive`, a whole directory tree (one range delete). */
export async function removePath(o: TxnOps, path: PathLike, options: { recursive?: boolean; force?: boolean }): Promise<void> {
  let r: Resolved;
  try {
    r = await resolve(o.txn, path, 'rm', false);
  } catch (err) {
    // As node:fs: force ignores only a missing path.
    if (options.force && err instanceof FsError && err.code === 'ENOENT') return;
    throw err;
  }
  if (r.info === undefined) {
    if (options.force) return;
    throw new FsError('ENOENT', 'rm', showPath(path));
  }
  if (r.info.type === 'directory') {
    if (!options.recursive) throw new FsError('EISDIR', 'rm', showPath(path), 'is a directory (use recursive)');
    if (r.names.length === 0) throw new FsError('EBUSY', 'rm', showPath(path));
    await removeTree(o, r.nameKey);
  } else {
    await removeName(o, r as Existing);
  }
  await o.touchDir(r.parentKey);
}

/** Deletes a directory's subtree; inodes with names outside it keep those. */
async function removeTree(o: TxnOps, dirKey: Uint8Array): Promise<void> {
  const range = { gte: dirKey, lt: prefixEnd(dirKey) };
  const now = o.ctx.now();
  for (const at of await inodesIn(o.txn, range)) {
    const info = decodeInfo((await o.txn.get(at))!);
    const kept = namesOf(at, info).filter((k) => !isUnder(k, dirKey));
    if (kept.length === 0) continue;
    await writeInode(o.txn, kept, { ...info, ctimeNs: now }, at, []);
  }
  o.txn.deleteRange(range.gte, range.lt);
}

/** rename(2), or a copy (blobs shared, no data copied) when `move` is false. */
export async function moveOrCopy(o: TxnOps, from: PathLike, to: PathLike, move: boolean, recursive: boolean): Promise<void> {
  const syscall = move ? 'rename' : 'copyfile';
  const src = await resolve(o.txn, from, syscall, !move);
  if (src.info === undefined) throw new FsError('ENOENT', syscall, showPath(from), undefined, showPath(to));
  const dst = await resolve(o.txn, to, syscall, false);
  if (src.names.length === 0 || (move && dst.names.length === 0)) throw new FsError('EBUSY', syscall, showPath(from), undefined, showPath(to));
  if (compareBytes(src.nameKey, dst.nameKey) === 0) return;
  // As Linux: a target that is an ancestor of the source is refused before any type check.
  if (move && src.nameKey.length > dst.nameKey.length && isUnder(src.nameKey, dst.nameKey)) {
    throw new FsError('ENOTEMPTY', syscall, showPath(from), undefined, showPath(to));
  }
  const isDir = src.info.type === 'directory';
  if (isDir && !recursive) throw new FsError('EISDIR', syscall, showPath(from), 'is a directory (use recursive)', showPath(to));
  if (isDir && dst.nameKey.length > src.nameKey.length && isUnder(dst.nameKey, src.nameKey)) {
    throw new FsError('EINVAL', syscall, showPath(from), 'cannot move a directory into itself', showPath(to));
  }
  if (dst.info !== undefined) {
    if (isDir) {
      if (dst.info.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(from), undefined, showPath(to));
      if (!move) throw new FsError('EEXIST', syscall, showPath(from), undefined, showPath(to));
      if (!(await o.isEmptyDir(dst.nameKey))) throw new FsError('ENOTEMPTY', syscall, showPath(from), undefined, showPath(to));
    } else if (dst.info.type === 'directory') {
      throw new FsError('EISDIR', syscall, showPath(from), undefined, showPath(to));
    }
    // Two names of one inode: rename does nothing (POSIX), a copy onto itself neither.
    if (!isDir && compareBytes(src.key, dst.key) === 0) return;
    if (isDir) o.txn.deleteRange(dst.nameKey, prefixEnd(dst.nameKey));
    else await removeName(o, dst as Existing);
  } else {
    await o.newEntryParent(dst, syscall, to);
  }
  const now = o.ctx.now();
  if (isDir) await moveOrCopyTree(o, src.nameKey, dst.nameKey, move);
  else if (move && isLinked(src.info)) {
    // One name of a linked inode changes: the inode may move to a new least name.
    const names = sortedKeys([...namesOf(src.key, src.info).filter((k) => compareBytes(k, src.nameKey) !== 0), dst.nameKey]);
    await writeInode(o.txn, names, { ...src.info, ctimeNs: now }, src.key, [dst.nameKey]);
    o.txn.del(src.nameKey);
  } else {
    // The inode's own keys (a copy reads them where they live, a link's inode included).
    const entries = await gather(o, src.key);
    if (move) o.txn.deleteRange(src.key, prefixEnd(src.key));
    for (const e of entries) o.txn.put(concatKey(dst.nameKey, e.suffix), e.value);
    // A copy is a new file (as cp without -p): new times, no access time, one name.
    o.put(dst.nameKey, move ? { ...src.info, ctimeNs: now } : { ...src.info, mtimeNs: now, ctimeNs: now, atimeNs: undefined, links: undefined });
  }
  if (move) await o.touchDir(src.parentKey);
  await o.touchDir(dst.parentKey);
}

async function gather(o: TxnOps, key: Uint8Array): Promise<{ suffix: Uint8Array; value: Uint8Array }[]> {
  const out: { suffix: Uint8Array; value: Uint8Array }[] = [];
  for await (const e of o.txn.entries({ gte: key, lt: prefixEnd(key) })) out.push({ suffix: e.key.subarray(key.length), value: e.value });
  return out;
}

async function moveOrCopyTree(o: TxnOps, srcKey: Uint8Array, dstKey: Uint8Array, move: boolean): Promise<void> {
  // Gather the subtree first: writes below must not disturb the reads.
  const moved = await gather(o, srcKey);
  if (move) o.txn.deleteRange(srcKey, prefixEnd(srcKey));
  const inodes = new Map<string, Uint8Array>();
  const copiedLinks: { key: Uint8Array; at: Uint8Array }[] = [];
  for (const m of moved) {
    const key = concatKey(dstKey, m.suffix);
    if (!isExtentKey(key) && isLinkRecord(m.value)) {
      const at = linkRecordTarget(m.value);
      if (move) inodes.set(keyId(at), at);
      else copiedLinks.push({ key, at });
    } else if (!isExtentKey(key) && recordHasLinks(m.value)) {
      const at = concatKey(srcKey, m.suffix);
      if (move) inodes.set(keyId(at), at);
      else {
        // A copy is a tree of new files, each with one name (as cp -r).
        o.put(key, { ...decodeInfo(m.value), links: undefined });
        continue;
      }
    }
    o.txn.put(key, m.value);
  }
  for (const { key, at } of copiedLinks) {
    const found = (await readFound(o.txn, at))!;
    for (const e of await gather(o, found.dataKey)) {
      if (e.suffix.length > 0) o.txn.put(concatKey(key, e.suffix), e.value);
    }
    o.put(key, { ...found.info, links: undefined });
  }
  if (!move) {
    const info = (await readInfo(o.txn, dstKey))!;
    const now = o.ctx.now();
    o.put(dstKey, { ...info, mtimeNs: now, ctimeNs: now, atimeNs: undefined });
    return;
  }
  // Names moved: every inode with a name below re-sorts its names (its least one may change).
  const renamed = (k: Uint8Array): Uint8Array => (isUnder(k, srcKey) ? concatKey(dstKey, k.subarray(srcKey.length)) : k);
  for (const at of inodes.values()) {
    const dataAt = renamed(at);
    const info = decodeInfo((await o.txn.get(dataAt))!);
    const names = sortedKeys(namesOf(at, info).map(renamed));
    await writeInode(o.txn, names, info, dataAt, names);
  }
  const info = (await readInfo(o.txn, dstKey))!;
  o.put(dstKey, { ...info, ctimeNs: o.ctx.now() });
}

/**
 * Copies a non-directory of another root of the same tree to a new name here, sharing its
 * blobs (as a copy: one name, its own inode); a hard link's other name is read through.
 */
export async function copyFromRoot(o: TxnOps, root: Hash, from: PathLike, to: PathLike): Promise<void> {
  const other = new TreeReader(o.ctx.tree, root);
  const src = await resolve(other, from, 'copyfile', false);
  if (src.info === undefined) throw new FsError('ENOENT', 'copyfile', showPath(from), undefined, showPath(to));
  if (src.info.type === 'directory') throw new FsError('EISDIR', 'copyfile', showPath(from), undefined, showPath(to));
  const dst = await resolve(o.txn, to, 'copyfile', false);
  if (dst.info !== undefined) throw new FsError('EEXIST', 'copyfile', showPath(from), undefined, showPath(to));
  await o.newEntryParent(dst, 'copyfile', to);
  o.put(dst.nameKey, { ...src.info, links: undefined });
  for await (const e of other.entries(extentRange(src.key))) o.txn.put(concatKey(dst.nameKey, e.key.subarray(src.key.length)), e.value);
  await o.touchDir(dst.parentKey);
}
