// `cafs import`: a real directory into one filesystem root, in one batch.
import { createReadStream, type BigIntStats } from 'node:fs';
import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hash } from '@cafs/kv';
import { Fs, type Batch } from '@cafs/fs';
import type { Repo } from '@cafs/repo';
import { CliError } from './errors.js';
import { indexPath, isRacy, nowNs, pathKey, readIndex, writeIndex, type IndexEntry, type WorktreeIndex } from './worktree-index.js';

export interface ImportOptions {
  /** Zero times and owners: the same tree gives the same root on any machine. */
  reproducible?: boolean;
  /** Directories to leave out (absolute, real paths), e.g. the repository itself. */
  exclude?: string[];
  onProgress?: (done: number, total: number, bytes: number) => void;
  /**
   * The repository directory, to keep the directory's index in (worktree-index.ts): unchanged
   * files are copied from the root of the last import instead of being read. Undefined: no
   * index is read or written.
   */
  indexDir?: string | undefined;
}

export interface ImportResult {
  root: Hash;
  files: number;
  dirs: number;
  symlinks: number;
  /** Names recorded as hard links of a name met before (their inode's content was read once). */
  links: number;
  bytes: number;
  /** Entries left out: 'vanished' (or stopped being what they were) while read, or 'busy' (changed on every read). */
  skipped: { path: string; reason: string }[];
  /** Files that changed while being read, and were read again (never recorded torn). */
  reread: string[];
  /** Files not read: their stat matched the index, so their entries were copied from its root. */
  reused: number;
}

/** Files up to this size are read whole (and ahead); larger ones are streamed. */
const SMALL_FILE = 1 << 20;

/** A file changing on every read this often is left out (reason 'busy') rather than recorded torn. */
const MAX_READS = 5;

/** Errors that mean "this entry is not there (as it was) any more": skip it. */
const vanished = (err: unknown): boolean => {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EINVAL' || code === 'EISDIR';
};
const shown = (path: Uint8Array): string => Buffer.from(path).toString('utf8');

interface Entry {
  /** Absolute path on disk, as bytes: names need not be UTF-8 and are kept byte for byte. */
  abs: Buffer;
  /** Path in the filesystem, as bytes. */
  path: Uint8Array;
  kind: 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev';
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  /** Names of the inode on disk (st_nlink): more than 1 for a hard-linked non-directory. */
  nlink: bigint;
  size: number;
  /** Device nodes: the device number (glibc's dev_t). */
  rdev: number;
}

function kindOf(st: BigIntStats): Entry['kind'] | undefined {
  return st.isDirectory()
    ? 'dir'
    : st.isFile()
      ? 'file'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isFIFO()
          ? 'fifo'
          : st.isCharacterDevice()
            ? 'chardev'
            : st.isBlockDevice()
              ? 'blockdev'
              : undefined;
}

function statFields(st: BigIntStats): Omit<Entry, 'abs' | 'path' | 'kind'> {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev, nlink: st.nlink, size: Number(st.size), rdev: Number(st.rdev) };
}

/** The inode a hard-linked non-directory shares with its other names on disk; undefined for the rest. */
const inodeOf = (e: Entry): string | undefined => (e.kind !== 'dir' && e.nlink > 1n ? `${e.dev}:${e.ino}` : undefined);

const SLASH = Buffer.from('/');
/** How many lstat calls the walk keeps in flight ahead of the entry it is at (within one directory). */
const STAT_AHEAD = 32;
const isRoot = (path: Uint8Array): boolean => path.length === 1 && path[0] === 0x2f;

async function walk(root: Buffer, exclude: Set<string>, skipped: ImportResult['skipped']): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (abs: Buffer, path: Uint8Array, pending?: Promise<BigIntStats>): Promise<void> => {
    let st: BigIntStats;
    try {
      st = await (pending ?? lstat(abs, { bigint: true }));
    } catch (err) {
      // Gone between its directory's listing and now (a lock file, a temporary file): left out.
      if (out.length > 0 && vanished(err)) return void skipped.push({ path: shown(path), reason: 'vanished' });
      throw err;
    }
    const kind = kindOf(st);
    if (kind === undefined) return; // sockets: meaningless without their listener
    out.push({ abs, path, kind, ...statFields(st) });
    if (kind === 'dir') {
      let names: { name: Buffer; dir: boolean }[];
      try {
        names = (await readdir(abs, { encoding: 'buffer', withFileTypes: true })).map((d) => ({ name: d.name, dir: d.isDirectory() })).sort((a, b) => Buffer.compare(a.name, b.name));
      } catch (err) {
        if (out.length === 1 || !vanished(err)) throw err;
        out.pop();
        return void skipped.push({ path: shown(path), reason: 'vanished' });
      }
      const children = names.map((n) => ({ abs: Buffer.concat([abs, SLASH, n.name]), dir: n.dir })).filter((c) => !exclude.has(c.abs.toString('hex')));
      // The children's lstat calls run a window ahead (the thread pool does them in parallel),
      // never past a subdirectory: the stats of the names after it would be old by their turn.
      const stats: Promise<BigIntStats>[] = [];
      const statAhead = (at: number): void => {
        // A subdirectory not visited yet is as far as the window goes.
        if (stats.length - 1 >= at && children[stats.length - 1]!.dir) return;
        for (let j = stats.length; j < Math.min(at + STAT_AHEAD, children.length); j++) {
          const p = lstat(children[j]!.abs, { bigint: true });
          p.catch(() => undefined);
          stats.push(p);
          if (children[j]!.dir) break;
        }
      };
      for (let j = 0; j < children.length; j++) {
        statAhead(j);
        const child = children[j]!.abs;
        await visit(child, Buffer.concat([isRoot(path) ? Buffer.alloc(0) : Buffer.from(path), SLASH, child.subarray(abs.length + 1)]), stats[j]);
      }
    }
  };
  await visit(root, Buffer.from('/'));
  return out;
}

/**
 * Writes the file `e` into the batch as it is once a read finds it unchanged from start to end
 * (size and mtime as stated before and after the read); re-reads it when it changed meanwhile.
 * Undefined when it vanished (recorded in `result.skipped`); otherwise the bytes written, and
 * the inode and mtime of the file as read (they differ from `e`'s when it was replaced meanwhile).
 */
async function writeStable(
  batch: Batch,
  e: Entry,
  pending: Promise<Buffer> | undefined,
  repro: boolean,
  result: ImportResult,
  /** Sets the batch's clock (ctime follows the mtime recorded). */
  setClock: (ns: bigint) => void,
): Promise<{ written: number; ino: bigint; mtimeNs: bigint; ctimeNs: bigint; size: bigint; mode: number } | undefined> {
  let before: { size: bigint; mtimeNs: bigint; ctimeNs: bigint; ino: bigint; mode: number } = { size: BigInt(e.size), mtimeNs: e.mtimeNs, ctimeNs: e.ctimeNs, ino: e.ino, mode: e.mode };
  for (let n = 1; ; n++) {
    try {
      let written: number;
      if (before.size <= BigInt(SMALL_FILE)) {
        const bytes = await (n === 1 && pending !== undefined ? pending : readFile(e.abs));
        written = bytes.length;
        await batch.writeFile(e.path, bytes, { mode: before.mode, mtime: repro ? 0n : before.mtimeNs });
      } else {
        let count = 0;
        const counted = async function* (): AsyncGenerator<Uint8Array> {
          for await (const c of createReadStream(e.abs, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
            count += c.length;
            yield c;
          }
        };
        await batch.writeFile(e.path, counted(), { mode: before.mode, mtime: repro ? 0n : before.mtimeNs });
        written = count;
      }
      const after = await lstat(e.abs, { bigint: true });
      const same = after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs && after.ino === before.ino;
      if (after.isFile() && same && BigInt(written) === before.size) return { written, ...before };
      if (!after.isFile()) throw Object.assign(new Error('no longer a file'), { code: 'EINVAL' });
      if (n >= MAX_READS) {
        // Written to all the time (a download, a log): left out rather than recorded torn.
        await batch.rm(e.path, { force: true });
        result.skipped.push({ path: shown(e.path), reason: 'busy' });
        return undefined;
      }
      if (!result.reread.includes(shown(e.path))) result.reread.push(shown(e.path));
      before = { size: after.size, mtimeNs: after.mtimeNs, ctimeNs: after.ctimeNs, ino: after.ino, mode: Number(after.mode & 0o7777n) };
      if (!repro) setClock(after.mtimeNs);
    } catch (err) {
      if (!vanished(err)) throw err;
      // A file half written into the batch must not stay there.
      await batch.rm(e.path, { force: true });
      result.skipped.push({ path: shown(e.path), reason: 'vanished' });
      return undefined;
    }
  }
}


/** Builds the root of `dir`'s tree (not committed). */
export async function importDirectory(repo: Repo, dir: string, options: ImportOptions = {}): Promise<ImportResult> {
  let st;
  try {
    st = await lstat(dir);
  } catch {
    throw new CliError(`no such directory: ${dir}`);
  }
  if (!st.isDirectory()) throw new CliError(`not a directory: ${dir}`);
  const real = await realpath(dir, { encoding: 'buffer' });
  const exclude = new Set<string>();
  for (const e of options.exclude ?? []) exclude.add((await realpath(e, { encoding: 'buffer' }).catch(() => Buffer.from(e))).toString('hex'));
  const skipped: ImportResult['skipped'] = [];
  const startedNs = nowNs();
  const indexFile = options.indexDir === undefined ? undefined : indexPath(options.indexDir, real);
  const oldIndex = indexFile === undefined ? undefined : await readIndex(indexFile);
  const entries = await walk(real, exclude, skipped);
  const repro = options.reproducible === true;
  const reuse = await reusable(repo, entries, oldIndex, repro);
  /** The new index's entries: files read (or reused) whose stat held still from the walk to the end of the read. */
  const indexed = new Map<string, IndexEntry>();
  const record = (e: Entry): void => {
    if (e.nlink === 1n) indexed.set(pathKey(e.path), { size: BigInt(e.size), mtimeNs: e.mtimeNs, ctimeNs: e.ctimeNs, ino: e.ino, dev: e.dev, mode: e.mode, uid: e.uid, gid: e.gid });
  };
  // ctime follows each entry's mtime (or 0): importing the same tree twice gives the same root.
  let clock = 0n;
  const fs = new Fs(repo.store, { now: () => clock });
  const top = entries[0]!;
  clock = repro ? 0n : top.mtimeNs;
  let root = await fs.mkfs({ mode: top.mode, mtime: clock, uid: repro ? 0 : top.uid, gid: repro ? 0 : top.gid });
  const batch = fs.batch(root);
  const result: ImportResult = { root, files: 0, dirs: 0, symlinks: 0, links: 0, bytes: 0, skipped, reread: [], reused: 0 };
  const dirs: Entry[] = [];
  let done = 0;
  // Hard links (as tar and rsync -H keep them): the first name met of an inode on disk
  // (st_dev, st_ino) is written, the others are linked to it. `later`: the indexes of those
  // others, which are not read (ahead or at all); only entries with st_nlink > 1 are looked at.
  const later = new Set<number>();
  {
    const met = new Set<string>();
    for (let i = 0; i < entries.length; i++) {
      const id = entries[i]!.nlink > 1n ? inodeOf(entries[i]!) : undefined;
      if (id === undefined) continue;
      if (met.has(id)) later.add(i);
      else met.add(id);
    }
  }
  /** Inodes written so far: the name that holds each, and the clock its ctime was set at. */
  const written = new Map<string, { path: Uint8Array; clock: bigint }>();
  // Read small files ahead (up to 16 at a time) while the batch digests the current one.
  const ahead = new Map<number, Promise<Buffer>>();
  let nextRead = 0;
  const readAhead = (from: number): void => {
    if (nextRead < from) nextRead = from;
    while (nextRead < entries.length && ahead.size < 16) {
      const e = entries[nextRead]!;
      if (e.kind === 'file' && e.size <= SMALL_FILE && !later.has(nextRead) && !reuse.has(nextRead)) {
        const p = readFile(e.abs);
        p.catch(() => undefined);
        ahead.set(nextRead, p);
      }
      nextRead++;
    }
  };
  const count = (e: Entry): void => {
    if (e.kind === 'file') result.files++;
    else if (e.kind === 'symlink') result.symlinks++;
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    readAhead(i + 1);
    let id = inodeOf(e);
    const holder = id === undefined ? undefined : written.get(id);
    if (holder !== undefined) {
      // Another name of an inode already written: a link, if it still names that inode.
      let now: BigIntStats | undefined;
      try {
        now = await lstat(e.abs, { bigint: true });
      } catch (err) {
        if (!vanished(err)) throw err;
      }
      const kind = now === undefined ? undefined : kindOf(now);
      if (now === undefined || kind === undefined || kind === 'dir') {
        skipped.push({ path: shown(e.path), reason: 'vanished' });
        options.onProgress?.(++done, entries.length, result.bytes);
        continue;
      }
      if (now.dev === e.dev && now.ino === e.ino) {
        // ctime as the name that holds it set it: the same root whichever name came first.
        clock = holder.clock;
        await batch.link(holder.path, e.path);
        count(e);
        result.links++;
        options.onProgress?.(++done, entries.length, result.bytes);
        continue;
      }
      // Replaced meanwhile (an editor's save breaks a link): recorded as what it is now.
      Object.assign(e, { kind }, statFields(now));
      id = inodeOf(e);
    }
    const t = repro ? 0n : e.mtimeNs;
    clock = t;
    if (e.kind === 'dir') {
      if (!isRoot(e.path)) await batch.mkdir(e.path, { mode: e.mode });
      dirs.push(e);
      result.dirs++;
    } else if (e.kind === 'file' && reuse.has(i) && (await copyUnchanged(batch, oldIndex!.root, e, repro, t))) {
      // Unchanged since the last import (its stat says so, and it is not racy): not read.
      result.files++;
      result.reused++;
      result.bytes += e.size;
      record(e);
    } else if (e.kind === 'file') {
      const pending = ahead.get(i);
      ahead.delete(i);
      const w = await writeStable(batch, e, pending, repro, result, (ns) => (clock = ns));
      if (w === undefined) {
        options.onProgress?.(++done, entries.length, result.bytes);
        continue;
      }
      result.files++;
      result.bytes += w.written;
      // Indexed only when read as the walk saw it (else the next import reads it again).
      if (w.ino === e.ino && w.mtimeNs === e.mtimeNs && w.ctimeNs === e.ctimeNs && w.size === BigInt(e.size) && w.mode === e.mode) record(e);
      // Replaced while read: the other names of the inode met in the walk are not this file's.
      if (id !== undefined && w.ino !== e.ino) id = undefined;
    } else if (e.kind === 'fifo' || e.kind === 'chardev' || e.kind === 'blockdev') {
      await batch.mknod(e.path, e.kind, e.mode, e.kind === 'fifo' ? 0 : e.rdev);
      await batch.lutimes(e.path, t, t);
    } else {
      let target: Buffer;
      try {
        target = await readlink(e.abs, { encoding: 'buffer' });
      } catch (err) {
        if (!vanished(err)) throw err;
        skipped.push({ path: shown(e.path), reason: 'vanished' });
        options.onProgress?.(++done, entries.length, result.bytes);
        continue;
      }
      await batch.symlink(target, e.path);
      await batch.lutimes(e.path, t, t);
      result.symlinks++;
    }
    if (!repro && (e.uid !== 0 || e.gid !== 0) && !isRoot(e.path)) await batch.lchown(e.path, e.uid, e.gid);
    if (id !== undefined && !written.has(id)) written.set(id, { path: e.path, clock });
    options.onProgress?.(++done, entries.length, result.bytes);
  }
  // Directory times last: adding children moved them.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    clock = repro ? 0n : d.mtimeNs;
    await batch.lutimes(d.path, clock, clock);
  }
  root = await batch.flush();
  result.root = root;
  if (indexFile !== undefined) {
    // Only a cache: an index that cannot be written costs the next import its speed, nothing else.
    await writeIndex(indexFile, { root, reproducible: repro, startedNs, writtenNs: nowNs(), entries: indexed }).catch(() => undefined);
  }
  return result;
}

/**
 * The indexes of the walk's entries that need not be read: regular files with one name whose
 * stat matches their index entry field for field, whose times are not racy, recorded by an
 * import with the same `reproducible`, from a root that is a branch head's. Only a head's root
 * is sure to be whole in the store: an older one may have been collected by gc, or half swept
 * by a gc that was killed (its nodes there, some data blobs gone).
 */
async function reusable(repo: Repo, entries: Entry[], index: WorktreeIndex | undefined, repro: boolean): Promise<Set<number>> {
  const out = new Set<number>();
  if (index === undefined || index.reproducible !== repro || index.entries.size === 0) return out;
  try {
    let head = false;
    for (const b of await repo.branches()) {
      if (Buffer.from((await repo.readCommit(b.commit)).root).equals(index.root)) {
        head = true;
        break;
      }
    }
    if (!head || !(await repo.store.has([index.root]))[0]) return out; // read everything
  } catch {
    return out;
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.kind !== 'file' || e.nlink !== 1n) continue;
    const x = index.entries.get(pathKey(e.path));
    if (x === undefined) continue;
    const same = x.size === BigInt(e.size) && x.mtimeNs === e.mtimeNs && x.ctimeNs === e.ctimeNs && x.ino === e.ino && x.dev === e.dev && x.mode === e.mode && x.uid === e.uid && x.gid === e.gid;
    if (same && !isRacy(index, e.mtimeNs, e.ctimeNs)) out.add(i);
  }
  return out;
}

/**
 * Copies the file at `e.path` of `root` into the batch (its info, times and owners included, and
 * its extents: the same entries reading it gives). False when that fails (a blob gone, no such
 * file there): nothing of it is left in the batch and the caller reads the file instead.
 */
async function copyUnchanged(batch: Batch, root: Hash, e: Entry, repro: boolean, t: bigint): Promise<boolean> {
  try {
    await batch.copyFrom(root, e.path, e.path);
    // What reading the file would record (its content aside, which the stat vouches for).
    const s = await batch.lstat(e.path);
    const owner = repro ? { uid: 0, gid: 0 } : { uid: e.uid, gid: e.gid };
    if (s.isFile() && s.size === BigInt(e.size) && (s.mode & 0o7777) === e.mode && s.mtimeNs === t && s.ctimeNs === t && s.uid === owner.uid && s.gid === owner.gid && s.nlink === 1) return true;
  } catch {
    // no such file in that root, or a blob of it gone: read the file
  }
  await batch.rm(e.path, { force: true }).catch(() => undefined);
  return false;
}
