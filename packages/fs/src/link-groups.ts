// Hard links kept canonical: an inode with several names keeps its info and extents at the least
// of its names' info keys (bytewise), and every other name holds a link record naming that key
// (docs/format.md, "Hard links"). Whatever sequence of link, unlink and rename reached a state,
// the same names of the same inode give the same keys and values, so the same root.
import { compareBytes } from '@cafs/kv';
import { encodeInfo, encodeLinkRecord, isLinkRecord, linkRecordTarget, type Info } from './info.js';
import { extentRange, isExtentKey } from './keys.js';
import type { Txn } from './kv-view.js';
import type { Range } from './kv-view.js';

/** Names one inode may have (ext4's limit). */
export const LINK_MAX = 65000;
/** Bytes an inode's record may take with the list of its names (beyond: EMLINK). */
export const LINKED_INFO_MAX = 1 << 20;

/** The info keys of every name of an inode whose info lives at `dataKey`. */
export function namesOf(dataKey: Uint8Array, info: Info): Uint8Array[] {
  return [dataKey, ...(info.links ?? [])];
}

export const isLinked = (info: Info): boolean => info.links !== undefined && info.links.length > 0;

/** Sorted by bytes, without repeats. */
export function sortedKeys(keys: Iterable<Uint8Array>): Uint8Array[] {
  const out = [...keys].sort(compareBytes);
  return out.filter((k, i) => i === 0 || compareBytes(out[i - 1]!, k) !== 0);
}

/** The record of an inode with these names, as it would be stored at the least of them. */
export function inodeInfo(names: readonly Uint8Array[], info: Info): Info {
  return { ...info, links: names.length > 1 ? names.slice(1) : undefined };
}

/**
 * Stores an inode under `names` (sorted, at least one) canonically: its info (with the other
 * names) and extents at names[0], a link record at each other name. `dataAt`: where its info and
 * extents are now. When they stay where they are, only the link records of `added` names are
 * written (the others already name the right key); when they move, every record is.
 */
export async function writeInode(txn: Txn, names: readonly Uint8Array[], info: Info, dataAt: Uint8Array, added: readonly Uint8Array[]): Promise<void> {
  const primary = names[0]!;
  const moves = compareBytes(primary, dataAt) !== 0;
  if (moves) await moveExtents(txn, dataAt, primary);
  txn.put(primary, encodeInfo(inodeInfo(names, info)));
  const record = encodeLinkRecord(primary);
  for (const name of moves ? names.slice(1) : added) if (compareBytes(name, primary) !== 0) txn.put(name, record);
}

/** Moves a file's extent keys from one info key to another. */
export async function moveExtents(txn: Txn, from: Uint8Array, to: Uint8Array): Promise<void> {
  const extents: { key: Uint8Array; value: Uint8Array }[] = [];
  for await (const e of txn.entries(extentRange(from))) extents.push(e);
  for (const e of extents) txn.del(e.key);
  for (const e of extents) txn.put(concatKey(to, e.key.subarray(from.length)), e.value);
}

export function concatKey(prefix: Uint8Array, suffix: Uint8Array): Uint8Array {
  const key = new Uint8Array(prefix.length + suffix.length);
  key.set(prefix);
  key.set(suffix, prefix.length);
  return key;
}

/** Whether a stored info record belongs to an inode with other names (13 elements: see encodeInfo). */
export const recordHasLinks = (value: Uint8Array): boolean => value[0] === 0x8d;

/**
 * The inodes with at least one name in a key range (a subtree): the keys that hold them, found
 * from link records and linked inode records met in the range.
 */
export async function inodesIn(txn: Txn, range: Range): Promise<Uint8Array[]> {
  const found = new Map<string, Uint8Array>();
  for await (const e of txn.entries(range)) {
    if (isExtentKey(e.key)) continue;
    const at = isLinkRecord(e.value) ? linkRecordTarget(e.value) : recordHasLinks(e.value) ? e.key : undefined;
    if (at !== undefined) found.set(keyId(at), at.slice());
  }
  return [...found.values()];
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');
export const keyId = (key: Uint8Array): string => Array.from(key, hex).join('');

/** Whether `key` is `prefix` or below it (prefix an info key, ending in "/"). */
export function isUnder(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && compareBytes(key.subarray(0, prefix.length), prefix) === 0;
}
