// fsck: every blob that a branch, tag, remote-tracking branch or pin reaches (through history
// as far as garbage collection's cuts, trees, file data) is present and hashes right. It never
// stops at the first problem: each missing or corrupt blob is listed with what reaches it.
import { EMPTY_ROOT, bytesToHex, compareBytes, decodeNode, equalBytes, sha256, type Hash, type TreeNode } from '@cafs/kv';
import { decodeExtent, decodeInfo, extentOwner, isExtentKey, isLinkRecord, linkRecordTarget } from '@cafs/fs';
import { tryDecodeCommit, type Commit } from './commit.js';
import { HistoryCuts } from './history-cuts.js';
import { BRANCH_PREFIX, PIN_PREFIX, REMOTE_PREFIX, TAG_PREFIX } from './ref-names.js';
import type { Repo } from './repo.js';

export type FsckBlobKind = 'commit' | 'root' | 'node' | 'data';

/** One missing or corrupt blob and what reaches it. */
export interface FsckProblem {
  hash: string;
  problem: 'missing' | 'corrupt';
  kind: FsckBlobKind;
  /** Names, commits and paths that lead to it (the first few), e.g. "main", "commit 1a2b... /src/a.c". */
  reachedBy: string[];
  /** What is wrong with a corrupt blob. */
  detail?: string | undefined;
}

export interface FsckReport {
  commits: number;
  roots: number;
  nodes: number;
  dataBlobs: number;
  /** Parent links garbage collection cut, where history ends by design. */
  historyCuts: number;
  /** Hex of every missing blob, and of every corrupt one. */
  missing: string[];
  corrupt: string[];
  problems: FsckProblem[];
  ok: boolean;
}

export interface FsckProgress {
  /** Commits checked, commits found but not checked yet (the total grows as history is read), blobs checked. */
  commits: number;
  pending: number;
  blobs: number;
}

export interface FsckOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: FsckProgress) => void) | undefined;
}

const MAX_REACHED_BY = 5;
const short = (hex: string): string => hex.slice(0, 12);
const utf8 = new TextDecoder();

/** The path a tree key names: `/a/b/` (info) or `/a/b/\0<offset>` (extent). */
function keyPath(key: Uint8Array): string {
  const text = utf8.decode(isExtentKey(key) ? extentOwner(key) : key);
  return text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text;
}

export async function fsck(repo: Repo, options: FsckOptions = {}): Promise<FsckReport> {
  const report: FsckReport = { commits: 0, roots: 0, nodes: 0, dataBlobs: 0, historyCuts: 0, missing: [], corrupt: [], problems: [], ok: true };
  const cuts = await HistoryCuts.load(repo.names);
  report.historyCuts = cuts.size;
  const problems = new Map<string, FsckProblem>();
  const checked = new Set<string>();
  let blobs = 0;

  const note = (hash: string, problem: FsckProblem['problem'], kind: FsckBlobKind, by: string, detail?: string): void => {
    let p = problems.get(hash);
    if (p === undefined) problems.set(hash, (p = { hash, problem, kind, reachedBy: [], detail }));
    if (p.reachedBy.length < MAX_REACHED_BY && !p.reachedBy.includes(by)) p.reachedBy.push(by);
  };
  /** The blob's bytes when present and intact; else the problem is noted and undefined returned. */
  const read = async (hash: Hash, kind: FsckBlobKind, by: string): Promise<Uint8Array | undefined> => {
    const hex = bytesToHex(hash);
    blobs++;
    const [present] = await repo.store.has([hash]);
    if (!present) return void note(hex, 'missing', kind, by);
    let bytes: Uint8Array;
    try {
      bytes = await repo.store.get(hash);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_BLOB_NOT_FOUND') return void note(hex, 'missing', kind, by);
      if (code === 'ERR_INTEGRITY') return void note(hex, 'corrupt', kind, by, 'its bytes do not hash to its name');
      throw err;
    }
    if (bytesToHex(sha256(bytes)) !== hex) return void note(hex, 'corrupt', kind, by, 'its bytes do not hash to its name');
    return bytes;
  };

  /** `read` on the first visit of a blob; a later visit only adds to what reaches a problem. */
  const visit = async (hash: Hash, kind: FsckBlobKind, by: string): Promise<Uint8Array | undefined> => {
    const id = bytesToHex(hash);
    if (checked.has(id)) {
      const p = problems.get(id);
      if (p !== undefined) note(id, p.problem, p.kind, by);
      return undefined;
    }
    checked.add(id);
    return read(hash, kind, by);
  };

  // History: commits from every name, parents as far as the cuts.
  const queue: { hash: Hash; by: string }[] = [];
  const rootsOf = new Map<string, { root: Hash; by: string[] }>();
  const pinnedRoots: { hash: Hash; by: string }[] = [];
  for await (const [name, h] of repo.names.list('refs/')) {
    const label = name.startsWith(BRANCH_PREFIX) ? name.slice(BRANCH_PREFIX.length) : name.startsWith(TAG_PREFIX) ? `tag ${name.slice(TAG_PREFIX.length)}` : name;
    if (name.startsWith(BRANCH_PREFIX) || name.startsWith(TAG_PREFIX) || name.startsWith(REMOTE_PREFIX)) queue.push({ hash: h, by: label });
    else if (name.startsWith(PIN_PREFIX)) pinnedRoots.push({ hash: h, by: name });
  }
  const addRoot = (root: Hash, by: string): void => {
    const id = bytesToHex(root);
    const r = rootsOf.get(id);
    if (r === undefined) rootsOf.set(id, { root, by: [by] });
    else if (r.by.length < MAX_REACHED_BY) r.by.push(by);
  };
  const progress = (): void => options.onProgress?.({ commits: report.commits, pending: queue.length, blobs });
  while (queue.length > 0) {
    options.signal?.throwIfAborted();
    const { hash, by } = queue.pop()!;
    const id = bytesToHex(hash);
    const bytes = await visit(hash, 'commit', by);
    progress();
    if (bytes === undefined) continue;
    const c: Commit | undefined = tryDecodeCommit(bytes);
    if (c === undefined) {
      note(id, 'corrupt', 'commit', by, 'a name or parent link leads to it, but it is not a commit');
      continue;
    }
    report.commits++;
    addRoot(c.root, `commit ${short(id)}`);
    for (const p of cuts.parents(hash, c)) queue.push({ hash: p, by: `parent of commit ${short(id)}` });
  }
  for (const { hash, by } of pinnedRoots) {
    const bytes = await read(hash, 'root', by);
    if (bytes === undefined) continue;
    const c = tryDecodeCommit(bytes);
    addRoot(c === undefined ? hash : c.root, by);
  }

  // Trees: every node once, and the data blobs their extents name.
  for (const { root, by } of rootsOf.values()) {
    options.signal?.throwIfAborted();
    report.roots++;
    if (bytesToHex(root) === bytesToHex(EMPTY_ROOT)) continue;
    const where = by.join(', ');
    const stack: { hash: Hash; kind: FsckBlobKind; path: string }[] = [{ hash: root, kind: 'root', path: '/' }];
    const links: { leaf: Hash; name: Uint8Array; inode: Uint8Array }[] = [];
    while (stack.length > 0) {
      options.signal?.throwIfAborted();
      const { hash, kind, path } = stack.pop()!;
      const bytes = await visit(hash, kind, `${where} ${path}`);
      progress();
      if (bytes === undefined) continue;
      let node: TreeNode;
      try {
        node = decodeNode(hash, bytes);
      } catch (err) {
        note(bytesToHex(hash), 'corrupt', kind, `${where} ${path}`, (err as Error).message);
        continue;
      }
      report.nodes++;
      if (node.level > 0) {
        for (let i = node.count - 1; i >= 0; i--) {
          const child = node.value(i).slice();
          stack.push({ hash: child, kind: 'node', path: `up to ${keyPath(node.key(i))}` });
        }
        continue;
      }
      for (let i = 0; i < node.count; i++) {
        const key = node.key(i);
        const value = node.value(i);
        try {
          if (!isExtentKey(key)) {
            if (isLinkRecord(value)) links.push({ leaf: hash, name: key.slice(), inode: linkRecordTarget(value).slice() });
            else decodeInfo(value);
            continue;
          }
          const ext = decodeExtent(value);
          if (ext.ref === undefined) continue;
          if ((await visit(ext.ref, 'data', `${where} ${keyPath(key)}`)) !== undefined) report.dataBlobs++;
        } catch (err) {
          note(bytesToHex(hash), 'corrupt', kind, `${where} ${keyPath(key)}`, `entry ${keyPath(key)}: ${(err as Error).message}`);
        }
      }
    }
    // Hard links: each other name's record names an inode that lists it back.
    for (const l of links) {
      const problem = await linkProblem(repo, root, l.name, l.inode).catch((err: unknown) => (err as Error).message);
      if (problem !== undefined) note(bytesToHex(l.leaf), 'corrupt', 'node', `${where} ${keyPath(l.name)}`, `hard link ${keyPath(l.name)}: ${problem}`);
    }
  }

  report.problems = [...problems.values()];
  report.missing = report.problems.filter((p) => p.problem === 'missing').map((p) => p.hash);
  report.corrupt = report.problems.filter((p) => p.problem === 'corrupt').map((p) => p.hash);
  report.ok = report.problems.length === 0;
  return report;
}

/** What is wrong with a hard link's record at `name` naming `inode` in `root`, if anything. */
async function linkProblem(repo: Repo, root: Hash, name: Uint8Array, inode: Uint8Array): Promise<string | undefined> {
  const value = await repo.fs.tree.get(root, inode);
  if (value === undefined) return `it names ${keyPath(inode)}, which does not exist`;
  if (isLinkRecord(value)) return `it names ${keyPath(inode)}, another link`;
  const info = decodeInfo(value);
  if (!(info.links ?? []).some((l) => equalBytes(l, name))) return `${keyPath(inode)} does not list it among its names`;
  if (compareBytes(inode, name) >= 0) return `${keyPath(inode)} is not its inode's least name`;
  return undefined;
}
