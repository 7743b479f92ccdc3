// What a branch merge does with the conflicts mergeRoots leaves (which keeps ours at each):
// text files both sides edited are merged line by line first (diff3, as git does), which
// settles edits that only collided as bytes (an insertion shifts every later byte); what is
// left is kept as ours, taken from theirs, or written with conflict markers.
import { diff3Merge } from 'node-diff3';
import { equalBytes, type Hash } from '@cafs/kv';
import { extentOwner, isExtentKey, isLinkRecord, prefixEnd, recordHasLinks, type Batch, type Fs, type Info } from '@cafs/fs';
import type { Conflict } from './merge.js';
import { keyOfPath, startsWith } from './path-keys.js';

/**
 * `ours` / `theirs`: that side's version at every conflicting path (its whole subtree for a
 * directory). `markers`: text files get both sides' lines between `<<<<<<<`, `=======` and
 * `>>>>>>>`; other conflicts keep ours.
 */
export type ConflictStrategy = 'ours' | 'theirs' | 'markers';

/** Text files larger than this are not merged by line (their conflicts stay byte conflicts). */
export const TEXT_MERGE_MAX = 8 * 1024 * 1024;

export interface SettleOptions {
  strategy?: ConflictStrategy | undefined;
  /** Names shown after the markers (default "ours" and "theirs"). */
  labels?: { ours: string; theirs: string } | undefined;
  signal?: AbortSignal | undefined;
}

export interface Settled {
  root: Hash;
  /** The conflicts still open or resolved by the strategy (with `resolution` saying how). */
  conflicts: Conflict[];
  /** Files merged cleanly by line. */
  lineMerges: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A file's text as lines with their terminators, or undefined when it is not text. */
async function textLines(fs: Fs, root: Hash, pathBytes: Uint8Array, info: Info | undefined): Promise<string[] | undefined> {
  if (info === undefined) return [];
  if (info.type !== 'file' || info.size > BigInt(TEXT_MERGE_MAX)) return undefined;
  const bytes = await fs.readFile(root, pathBytes);
  if (bytes.includes(0)) return undefined;
  try {
    const text = decoder.decode(bytes);
    return text.length === 0 ? [] : text.split(/(?<=\n)/);
  } catch {
    return undefined;
  }
}

/** The line merge of both sides: clean, or with git-style markers around each conflict. */
function mergeLines(base: string[], ours: string[], theirs: string[], labels: { ours: string; theirs: string }): { text: string; clean: boolean } {
  const out: string[] = [];
  let clean = true;
  const block = (lines: string[]): void => {
    for (const l of lines) out.push(l);
    if (lines.length > 0 && !lines[lines.length - 1]!.endsWith('\n')) out.push('\n');
  };
  for (const region of diff3Merge(ours, base, theirs, { excludeFalseConflicts: true })) {
    if (region.ok !== undefined) out.push(...region.ok);
    else if (region.conflict !== undefined) {
      clean = false;
      out.push(`<<<<<<< ${labels.ours}\n`);
      block(region.conflict.a);
      out.push('=======\n');
      block(region.conflict.b);
      out.push(`>>>>>>> ${labels.theirs}\n`);
    }
  }
  return { text: out.join(''), clean };
}

/** Replaces everything at and below the conflict's path with theirs'. */
async function takeTheirs(fs: Fs, b: Batch, c: Conflict): Promise<void> {
  const key = keyOfPath(c.pathBytes);
  if (c.theirs?.type === 'directory' && c.ours?.type === 'directory' && !c.subtree) {
    // A metadata conflict of a directory: its info only, not its children.
    const value = await fs.tree.get(c.roots.theirs, key);
    if (value !== undefined) b.txn.put(key, value);
    return;
  }
  const end = prefixEnd(key);
  if (!(await hasLinks(b.txn.entries({ gte: key, lt: end }))) && !(await hasLinks(fs.tree.entries(c.roots.theirs, { gte: key, lt: end })))) {
    b.txn.deleteRange(key, end);
    for await (const e of fs.tree.entries(c.roots.theirs, { gte: key, lt: end })) b.txn.put(e.key, e.value);
    return;
  }
  // Hard links on either side: through the filesystem, so that inodes with names elsewhere keep
  // them; theirs' entries come over as files of one name each.
  await b.rm(c.pathBytes, { recursive: true, force: true });
  let copied: Uint8Array | undefined;
  for await (const e of fs.tree.entries(c.roots.theirs, { gte: key, lt: end })) {
    if (isExtentKey(e.key)) {
      // A copied inode brought its extents itself.
      if (copied === undefined || !equalBytes(extentOwner(e.key), copied)) b.txn.put(e.key, e.value);
    } else if (isLinkRecord(e.value) || recordHasLinks(e.value)) {
      copied = e.key;
      await b.copyFrom(c.roots.theirs, pathOfKey(e.key), pathOfKey(e.key));
    } else b.txn.put(e.key, e.value);
  }
}


async function hasLinks(entries: AsyncIterable<{ key: Uint8Array; value: Uint8Array }>): Promise<boolean> {
  for await (const e of entries) if (!isExtentKey(e.key) && (isLinkRecord(e.value) || recordHasLinks(e.value))) return true;
  return false;
}

/** The path of an info key (its bytes without the trailing slash). */
const pathOfKey = (key: Uint8Array): Uint8Array => (key.length === 1 ? key : key.subarray(0, key.length - 1));

/**
 * Settles the conflicts of a merged root (as mergeRoots left it: ours at each conflict) and
 * returns the new root with the conflicts that remain or that the strategy resolved.
 */
export async function settleConflicts(fs: Fs, merged: Hash, conflicts: readonly Conflict[], options: SettleOptions = {}): Promise<Settled> {
  const labels = options.labels ?? { ours: 'ours', theirs: 'theirs' };
  const b = fs.batch(merged);
  const left: Conflict[] = [];
  let lineMerges = 0;
  const replaced: Uint8Array[] = [];
  for (const c of [...conflicts].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))) {
    options.signal?.throwIfAborted();
    // Below a path already replaced by theirs: settled with it.
    const key = keyOfPath(c.pathBytes);
    if (replaced.some((r) => startsWith(key, r))) continue;
    if (c.kind === 'content' && c.ours?.type === 'file' && c.theirs?.type === 'file' && (c.fields ?? []).length === 0) {
      const [base, ours, theirs] = await Promise.all([
        textLines(fs, c.roots.base, c.pathBytes, c.base?.type === 'file' ? c.base : undefined),
        textLines(fs, c.roots.ours, c.pathBytes, c.ours),
        textLines(fs, c.roots.theirs, c.pathBytes, c.theirs),
      ]);
      if (base !== undefined && ours !== undefined && theirs !== undefined) {
        const m = mergeLines(base, ours, theirs, labels);
        if (m.clean) {
          await b.writeFile(c.pathBytes, encoder.encode(m.text));
          lineMerges++;
          continue;
        }
        if (options.strategy === 'markers') {
          await b.writeFile(c.pathBytes, encoder.encode(m.text));
          left.push({ ...c, resolution: 'markers' });
          continue;
        }
      }
    }
    if (options.strategy === 'theirs') {
      await takeTheirs(fs, b, c);
      replaced.push(key);
      left.push({ ...c, resolution: 'theirs' });
    } else left.push(c);
  }
  const root = await b.flush({ signal: options.signal });
  return { root, conflicts: left, lineMerges };
}
