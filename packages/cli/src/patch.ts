// git-style unified patches for `cafs diff`: text files as hunks of lines, binary and large
// files as one "Binary files ... differ" line, and mode, type and rename headers as git writes them.
import { structuredPatch } from 'diff';
import type { Hash } from '@cafs/kv';
import { devMajor, devMinor, encodeInfo, isDevice, type FsChange, type Info } from '@cafs/fs';
import type { Repo } from '@cafs/repo';

/** Files larger than this are not diffed by line (as git's big-file threshold). */
export const MAX_TEXT_DIFF = 8n * 1024n * 1024n;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The text of a file, or undefined when it is binary (NUL bytes, not UTF-8) or too large. */
function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The S_IFMT bits (octal, two digits) of each type, as a mode in a patch header shows them. */
const GIT_TYPE: Record<Info['type'], string> = { directory: '04', symlink: '12', file: '10', fifo: '01', socket: '14', chardev: '02', blockdev: '06' };

function gitMode(info: Info): string {
  const kind = GIT_TYPE[info.type];
  return kind + (info.mode & 0o7777).toString(8).padStart(4, '0');
}

/** What a line diff compares: a file's text, a symlink's target, nothing for other types. */
async function content(repo: Repo, root: Hash, path: string, info: Info | undefined): Promise<string | undefined | null> {
  if (info === undefined) return '';
  if (info.type === 'symlink') return new TextDecoder().decode(info.target ?? new Uint8Array());
  if (info.type !== 'file') return null;
  if (info.size > MAX_TEXT_DIFF) return undefined;
  return asText(await repo.fs.readFile(root, path));
}

/** The path of an info key ("/a/b/" is /a/b), decoded as the diff decodes its paths. */
const keyPath = (key: Uint8Array): string => '/' + new TextDecoder().decode(key.subarray(1, key.length - 1));

/** The other names of a change's inode on one side (hard links): empty for a name with none. */
function peers(c: FsChange, side: 'left' | 'right'): string[] {
  const info = side === 'left' ? c.left : c.right;
  if (info === undefined || info.type === 'directory') return [];
  const self = side === 'left' && c.op === 'rename' ? c.from! : c.path;
  const holder = (side === 'left' ? c.leftLink : c.rightLink) ?? self;
  // The least name first, then the others in key order.
  return [holder, ...(info.links ?? []).map(keyPath)].filter((p) => p !== self);
}

/** What a diff says of a change's hard links, beyond its content. */
export interface LinkNote {
  /** The name is now a hard link to this one (which holds its content), and was not before. */
  linkTo?: string;
  /** The name was a hard link to this one and is not any more (removed, or its inode changed). */
  wasLinkTo?: string;
  /** The content of this name is shown at another name (the one it is linked to): no hunk, no bytes. */
  contentElsewhere: boolean;
  /**
   * Nothing to say: only the inode's list of names (and its ctime) changed, and the names that
   * were added or removed say so themselves.
   */
  hidden: boolean;
}

/** Equal apart from ctime and the list of other names. */
function sameInode(x: Info, y: Info): boolean {
  return Buffer.from(encodeInfo({ ...x, ctimeNs: 0n, links: undefined })).equals(encodeInfo({ ...y, ctimeNs: 0n, links: undefined }));
}

/**
 * How a change is shown as far as hard links go. A name newly linked to one that was there
 * before is "hard link to" that one (its content is there: not shown again); a name of an inode
 * whose names are all new is shown with its content at the least of them, the others link to it.
 * The same, the other way, for names removed. A name that stays linked to one of the names it
 * was linked to has no note.
 */
export async function linkNote(repo: Repo, rootA: Hash, rootB: Hash, c: FsChange): Promise<LinkNote> {
  const note: LinkNote = { contentElsewhere: false, hidden: false };
  const l = peers(c, 'left');
  const r = peers(c, 'right');
  if (l.length === 0 && r.length === 0) return note;
  const exists = async (root: Hash, p: string): Promise<boolean> => (await repo.fs.lstat(root, p, { throwIfNoEntry: false })) !== undefined;
  // Still linked with a name it was linked with: the group changed, not this name.
  const stays = l.some((p) => r.includes(p));
  if (!stays && r.length > 0) {
    let to: string | undefined;
    for (const p of r) if (await exists(rootA, p)) {
      to = p;
      break;
    }
    if (to === undefined && c.op === 'add' && c.rightLink !== undefined) to = c.rightLink;
    if (to !== undefined) {
      note.linkTo = to;
      if (c.op === 'add') note.contentElsewhere = true;
    }
  }
  if (!stays && l.length > 0) {
    let was: string | undefined;
    for (const p of l) if (await exists(rootB, p)) {
      was = p;
      break;
    }
    if (was === undefined && c.op === 'remove' && c.leftLink !== undefined) was = c.leftLink;
    if (was !== undefined) {
      note.wasLinkTo = was;
      if (c.op === 'remove') note.contentElsewhere = true;
    }
  }
  const linkOnly = c.op === 'change' && c.left !== undefined && c.right !== undefined && (c.ranges ?? []).length === 0 && sameInode(c.left, c.right);
  note.hidden = linkOnly && note.linkTo === undefined && note.wasLinkTo === undefined;
  return note;
}

/** The patch lines for one change (no trailing newline); empty for a change git would not show. */
export async function patchFor(repo: Repo, rootA: Hash, rootB: Hash, c: FsChange, note?: LinkNote): Promise<string[]> {
  if (note?.hidden) return [];
  const from = c.op === 'rename' ? c.from! : c.path;
  const left = c.left;
  const right = c.right;
  const lines = [`diff --cafs a${from} b${c.path}`];
  if (left === undefined && right !== undefined) lines.push(`new ${right.type === 'file' ? 'file' : right.type} mode ${gitMode(right)}`);
  else if (right === undefined && left !== undefined) lines.push(`deleted ${left.type === 'file' ? 'file' : left.type} mode ${gitMode(left)}`);
  else if (left !== undefined && right !== undefined && gitMode(left) !== gitMode(right)) lines.push(`old mode ${gitMode(left)}`, `new mode ${gitMode(right)}`);
  if (left !== undefined && right !== undefined && isDevice(left.type) && isDevice(right.type) && (left.rdev ?? 0) !== (right.rdev ?? 0)) {
    const dev = (i: Info): string => `${devMajor(i.rdev ?? 0)}:${devMinor(i.rdev ?? 0)}`;
    lines.push(`old device ${dev(left)}`, `new device ${dev(right)}`);
  }
  if (c.op === 'rename') lines.push('similarity index 100%', `rename from ${from}`, `rename to ${c.path}`);
  if (note?.wasLinkTo !== undefined) lines.push(c.op === 'remove' ? `was a hard link to ${note.wasLinkTo}` : `no longer a hard link to ${note.wasLinkTo}`);
  if (note?.linkTo !== undefined) lines.push(`hard link to ${note.linkTo}`);
  // The content is shown where the inode's other name is (or was).
  if (note?.contentElsewhere) return lines;
  const type = (right ?? left)!.type;
  if (type === 'directory' || (left !== undefined && right !== undefined && left.type !== right.type)) {
    return lines.length > 1 ? lines : [];
  }
  const a = await content(repo, rootA, from, left);
  const b = await content(repo, rootB, c.path, right);
  if (a === null || b === null) return lines.length > 1 ? lines : [];
  if (a === undefined || b === undefined) {
    lines.push(`Binary files ${left ? `a${from}` : '/dev/null'} and ${right ? `b${c.path}` : '/dev/null'} differ`);
    return lines;
  }
  if (a === b) return lines.length > 1 || c.op === 'add' || c.op === 'remove' ? lines : [];
  lines.push(`--- ${left ? `a${from}` : '/dev/null'}`, `+++ ${right ? `b${c.path}` : '/dev/null'}`);
  for (const h of structuredPatch(from, c.path, a, b, undefined, undefined, { context: 3 }).hunks) {
    const oldStart = h.oldLines === 0 ? h.oldStart - 1 : h.oldStart;
    const newStart = h.newLines === 0 ? h.newStart - 1 : h.newStart;
    lines.push(`@@ -${oldStart},${h.oldLines} +${newStart},${h.newLines} @@`, ...h.lines);
  }
  return lines;
}
