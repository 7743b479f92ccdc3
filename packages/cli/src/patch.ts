// git-style unified patches for `cafs diff`: text files as hunks of lines, binary and large
// files as one "Binary files ... differ" line, and mode, type and rename headers as git writes them.
import { structuredPatch } from 'diff';
import type { Hash } from '@cafs/kv';
import { decodeInfo, devMajor, devMinor, encodeInfo, isDevice, isLinkRecord, linkRecordTarget, type FsChange, type Info } from '@cafs/fs';
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

/** What a diff says of a change's hard links, beyond its content. */
export interface LinkNote {
  /** The name is now a hard link to this one, and was not before. */
  linkTo?: string;
  /** The name was a hard link to this one and is not any more (removed, or its inode changed). */
  wasLinkTo?: string;
  /** The content of this name is shown at another name (the one it is linked to): no hunk, no bytes. */
  contentElsewhere: boolean;
}

const hexKey = (key: Uint8Array): string => Buffer.from(key).toString('hex');
/** The path of an info key ("/a/b/" is /a/b; "/" is /), decoded as the diff decodes its paths. */
const keyPath = (key: Uint8Array): string => '/' + new TextDecoder().decode(key.subarray(1, key.length - 1));
/** The info key of a diff's path ("/a/b" is "/a/b/"). */
const pathKey = (bytes: Uint8Array): Uint8Array => (bytes.length === 1 ? bytes : Buffer.concat([bytes, Buffer.from('/')]));

/** A name's inode in a root: the key that holds it and the keys of all its names (that one first). */
interface Inode {
  holder: Uint8Array;
  names: Uint8Array[];
  info: Info;
}

async function inodeAt(repo: Repo, root: Hash, key: Uint8Array): Promise<Inode | undefined> {
  const tree = repo.fs.tree;
  const v = await tree.get(root, key);
  if (v === undefined) return undefined;
  const holder = isLinkRecord(v) ? linkRecordTarget(v) : key;
  const record = holder === key ? v : await tree.get(root, holder);
  if (record === undefined) return undefined;
  const info = decodeInfo(record);
  return { holder, names: info.type === 'directory' ? [key] : [holder, ...(info.links ?? [])], info };
}

/** Equal apart from ctime and the list of other names. */
function sameInode(x: Info, y: Info): boolean {
  return Buffer.from(encodeInfo({ ...x, ctimeNs: 0n, links: undefined })).equals(encodeInfo({ ...y, ctimeNs: 0n, links: undefined }));
}

/**
 * What a diff says of hard links, name by name. A new name of an inode that had a name before is
 * a "hard link to" that name (its content is there: not shown again); of an inode whose names
 * are all new, the least name (which holds it) is shown with the content and the others link to
 * it. A name that was there before and now is one of an inode's other names is a "hard link to"
 * the least name (or another name that was there). The same the other way for names removed or
 * no longer linked. A name still linked to one it was linked to has no note: only its inode's
 * list of names changed, and the names added or removed say so.
 *
 * The filesystem diff reports an inode's change of names at the name that holds it; the names
 * that joined or left are added here as changes of their own (within `under`), and a change that
 * is only a list of names (and ctime) with nothing to say is dropped.
 */
export async function withLinkNotes(repo: Repo, rootA: Hash, rootB: Hash, changes: readonly FsChange[], under: string = '/'): Promise<{ changes: FsChange[]; notes: Map<FsChange, LinkNote> }> {
  const notes = new Map<FsChange, LinkNote>();
  const linked = (c: FsChange): boolean => (c.left?.links?.length ?? 0) > 0 || (c.right?.links?.length ?? 0) > 0 || c.leftLink !== undefined || c.rightLink !== undefined;
  if (!changes.some(linked)) {
    for (const c of changes) notes.set(c, { contentElsewhere: false });
    return { changes: [...changes], notes };
  }
  const cacheA = new Map<string, Promise<Inode | undefined>>();
  const cacheB = new Map<string, Promise<Inode | undefined>>();
  const at = (cache: Map<string, Promise<Inode | undefined>>, root: Hash, key: Uint8Array): Promise<Inode | undefined> => {
    const id = hexKey(key);
    let p = cache.get(id);
    if (p === undefined) cache.set(id, (p = inodeAt(repo, root, key)));
    return p;
  };
  const firstThere = async (cache: Map<string, Promise<Inode | undefined>>, root: Hash, keys: Uint8Array[]): Promise<Uint8Array | undefined> => {
    for (const k of keys) if ((await at(cache, root, k)) !== undefined) return k;
    return undefined;
  };
  const noteFor = async (keyA: Uint8Array, keyB: Uint8Array): Promise<LinkNote> => {
    const note: LinkNote = { contentElsewhere: false };
    const a = await at(cacheA, rootA, keyA);
    const b = await at(cacheB, rootB, keyB);
    const peersA = a === undefined ? [] : a.names.filter((k) => hexKey(k) !== hexKey(keyA));
    const peersB = b === undefined ? [] : b.names.filter((k) => hexKey(k) !== hexKey(keyB));
    if (peersA.length === 0 && peersB.length === 0) return note;
    const idsA = new Set(peersA.map(hexKey));
    if (peersB.some((k) => idsA.has(hexKey(k)))) return note; // still linked with a name it was linked with
    // The least name of an inode that was there before is where the inode lives: no new link.
    if (b !== undefined && peersB.length > 0 && (a === undefined || hexKey(b.holder) !== hexKey(keyB))) {
      const to = (await firstThere(cacheA, rootA, peersB)) ?? (a === undefined && hexKey(b.holder) !== hexKey(keyB) ? b.holder : undefined);
      if (to !== undefined) {
        note.linkTo = keyPath(to);
        if (a === undefined) note.contentElsewhere = true;
      }
    }
    if (a !== undefined && peersA.length > 0 && (b === undefined || hexKey(a.holder) !== hexKey(keyA))) {
      const was = (await firstThere(cacheB, rootB, peersA)) ?? (b === undefined && hexKey(a.holder) !== hexKey(keyA) ? a.holder : undefined);
      if (was !== undefined) {
        note.wasLinkTo = keyPath(was);
        if (b === undefined) note.contentElsewhere = true;
      }
    }
    return note;
  };
  const out: FsChange[] = [];
  const listed = new Set<string>();
  const others = new Map<string, Uint8Array>();
  for (const c of changes) {
    const key = pathKey(c.pathBytes);
    listed.add(hexKey(key));
    const fromKey = c.op === 'rename' ? pathKey(Buffer.from(c.from!)) : key;
    if (c.op === 'rename') listed.add(hexKey(fromKey));
    if (!linked(c)) {
      out.push(c);
      notes.set(c, { contentElsewhere: false });
      continue;
    }
    const note = await noteFor(fromKey, key);
    const linkOnly = c.op === 'change' && c.left !== undefined && c.right !== undefined && (c.ranges ?? []).length === 0 && sameInode(c.left, c.right);
    if (!(linkOnly && note.linkTo === undefined && note.wasLinkTo === undefined)) {
      out.push(c);
      notes.set(c, note);
    }
    for (const [info, own, link] of [[c.left, fromKey, c.leftLink], [c.right, key, c.rightLink]] as const) {
      if (info === undefined || info.type === 'directory') continue;
      const holder = link === undefined ? own : pathKey(Buffer.from(link));
      for (const k of [holder, ...(info.links ?? [])]) others.set(hexKey(k), k);
    }
  }
  // Names that joined or left an inode, not reported by the filesystem diff themselves.
  const top = under === '/' ? undefined : pathKey(Buffer.from(under));
  const added: FsChange[] = [];
  for (const [id, key] of others) {
    if (listed.has(id) || (top !== undefined && !Buffer.from(key).subarray(0, top.length).equals(top))) continue;
    const note = await noteFor(key, key);
    if (note.linkTo === undefined && note.wasLinkTo === undefined) continue;
    const a = (await at(cacheA, rootA, key))!;
    const b = (await at(cacheB, rootB, key))!;
    const c: FsChange = { op: 'change', path: keyPath(key), pathBytes: key.length === 1 ? key : key.subarray(0, key.length - 1), left: a.info, right: b.info };
    if (hexKey(a.holder) !== id) c.leftLink = keyPath(a.holder);
    if (hexKey(b.holder) !== id) c.rightLink = keyPath(b.holder);
    added.push(c);
    notes.set(c, note);
  }
  if (added.length > 0) {
    // In key order, as the filesystem diff gives them.
    out.push(...added);
    out.sort((x, y) => Buffer.compare(pathKey(x.pathBytes), pathKey(y.pathBytes)));
  }
  return { changes: out, notes };
}

/** The patch lines for one change (no trailing newline); empty for a change git would not show. */
export async function patchFor(repo: Repo, rootA: Hash, rootB: Hash, c: FsChange, note?: LinkNote): Promise<string[]> {
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
