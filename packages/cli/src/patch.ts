// git-style unified patches for `cafs diff`: text files as hunks of lines, binary and large
// files as one "Binary files ... differ" line, and mode, type and rename headers as git writes them.
import { structuredPatch } from 'diff';
import type { Hash } from '@cafs/kv';
import { devMajor, devMinor, isDevice, type FsChange, type Info } from '@cafs/fs';
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

/** The patch lines for one change (no trailing newline); empty for a change git would not show. */
export async function patchFor(repo: Repo, rootA: Hash, rootB: Hash, c: FsChange): Promise<string[]> {
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
