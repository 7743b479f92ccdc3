// `cafs export`: a root into a real directory, plainly or as an atomic projection.
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, readFile, readdir, readlink, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { bytesToHex, parseHash, type Hash } from '@cafs/kv';
import { devMajor, devMinor, type FileType } from '@cafs/fs';
import type { Repo } from '@cafs/repo';
import { CliError } from './errors.js';

/** Seconds as utimes takes them, to the microsecond (a Date would lose the sub-millisecond part). */
const secs = (ns: bigint): number => Number(ns / 1000n) / 1e6;
const execFileAsync = promisify(execFile);
const sub = (base: string, p: string): string => (p === '/' ? base : join(base, p));
const child = (p: string, name: string): string => (p === '/' ? '/' + name : p + '/' + name);

async function exists(p: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

interface TreeEntry {
  path: string;
  type: FileType;
  /**
   * A non-directory with other names (hard links): the same for every name of its inode (its
   * inode number, equal for all names, with the metadata they share).
   */
  inode?: string;
}

/** Tree names of one inode, in walk order: the first is written, the others linked to it. */
function linkGroups(entries: readonly TreeEntry[]): Map<string, TreeEntry[]> {
  const groups = new Map<string, TreeEntry[]>();
  for (const e of entries) {
    if (e.inode === undefined) continue;
    const g = groups.get(e.inode);
    if (g === undefined) groups.set(e.inode, [e]);
    else g.push(e);
  }
  return groups;
}

/** The path of an info key ("/a/b/" is /a/b), as the diff names paths. */
const keyPath = (key: Uint8Array): string => '/' + new TextDecoder().decode(key.subarray(1, key.length - 1));

let tmpCount = 0;
/** A name beside `dest` for making what replaces it, then renaming it over `dest`. */
const tmpBeside = (dest: string): string => join(dirname(dest), `.cafs-tmp-${process.pid}-${++tmpCount}-${Math.random().toString(36).slice(2, 8)}`);

/**
 * Makes a non-directory at `dest` with `make(at)`, replacing what is there in one rename (a
 * reader sees the old entry or the new one; an old hard link's other names keep their content).
 * A directory there is removed first.
 */
async function replaceEntry(dest: string, make: (at: string) => Promise<void>): Promise<void> {
  const have = await exists(dest);
  if (have === undefined) return make(dest);
  if (have.isDirectory()) {
    await rm(dest, { recursive: true, force: true });
    return make(dest);
  }
  const tmp = tmpBeside(dest);
  try {
    await make(tmp);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // A node that could not be made here (a warning said so): the old entry goes all the same.
  if ((await exists(tmp)) === undefined) return void (await rm(dest, { force: true }));
  await rename(tmp, dest);
  // rename(2) of two names of one inode does nothing: the temporary name would stay.
  await unlink(tmp).catch(() => undefined);
}

/** `dest` as another name of the inode at `holder` (already written); replaces what is there. */
async function linkEntry(repo: Repo, root: Hash, path: string, holder: string, dest: string, devices: boolean): Promise<void> {
  await replaceEntry(dest, async (at) => {
    try {
      await link(holder, at);
    } catch (err) {
      // The first name could not be made (a node mknod refused): this one is tried on its own.
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      await writeEntry(repo, root, path, at, devices);
    }
  });
}

/**
 * Entries export leaves out: sockets (meaningless without their listener, import leaves them out
 * too) and device nodes unless asked for (`devices`) and run as root (mknod(2) needs it): a
 * device node made from a tree someone else wrote could open a disk to every local user.
 */
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const special = (type: FileType, devices: boolean): boolean => type === 'socket' || ((type === 'chardev' || type === 'blockdev') && !(devices && isRoot));


/** A named pipe or a device node, made by mknod(1) (Node has no mknod); false (with a warning) when it cannot be made here. */
async function makeNode(dest: string, type: FileType, rdev: number): Promise<boolean> {
  const args = type === 'fifo' ? [dest, 'p'] : [dest, type === 'chardev' ? 'c' : 'b', String(devMajor(rdev)), String(devMinor(rdev))];
  try {
    await execFileAsync('mknod', args);
    return true;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    process.stderr.write(`cafs: left out ${type} ${dest}: ${(e.stderr || e.message).trim()}\n`);
    return false;
  }
}

/** Every path below `from` (pre-order, byte order). */
async function* walkTree(repo: Repo, root: Hash, from: string, devices: boolean): AsyncGenerator<TreeEntry> {
  const st = await repo.fs.lstat(root, from);
  if (special(st.type, devices)) return;
  const inode = st.type !== 'directory' && st.nlink > 1 ? `${st.ino}:${st.nlink}:${st.size}:${st.mode}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
  yield inode === undefined ? { path: from, type: st.type } : { path: from, type: st.type, inode };
  if (st.type !== 'directory') return;
  for (const e of await repo.fs.readdir(root, from, { withFileTypes: true })) {
    // Export writes names as strings: refuse a name that is not UTF-8 rather than change it.
    if (!Buffer.from(e.name, 'utf8').equals(e.nameBytes)) {
      throw new CliError(`cannot export ${JSON.stringify(child(from, e.name))}: its name is not valid UTF-8 (kept byte for byte in the repository; export of such names is not supported yet)`);
    }
    yield* walkTree(repo, root, child(from, e.name), devices);
  }
}

/** Writes one tree entry at `dest` (which must not exist, except a directory). */
async function writeEntry(repo: Repo, root: Hash, path: string, dest: string, devices: boolean): Promise<void> {
  const st = await repo.fs.lstat(root, path);
  if (special(st.type, devices)) return;
  if (st.type === 'directory') {
    await mkdir(dest, { recursive: true });
    await chmod(dest, st.mode & 0o7777);
  } else if (st.type === 'symlink') {
    await symlink(await repo.fs.readlink(root, path), dest);
    await lutimes(dest, secs(st.atimeNs), secs(st.mtimeNs)).catch(() => undefined);
  } else if (st.type !== 'file') {
    if (!(await makeNode(dest, st.type, st.rdev))) return;
    await chmod(dest, st.mode & 0o7777);
    await utimes(dest, secs(st.atimeNs), secs(st.mtimeNs));
  } else {
    if (st.size <= 1n << 20n) await writeFile(dest, await repo.fs.readFile(root, path), { mode: st.mode & 0o7777 });
    else await pipeline(Readable.from(repo.fs.stream(root, path)), createWriteStream(dest, { mode: st.mode & 0o7777 }));
    await chmod(dest, st.mode & 0o7777);
    await utimes(dest, secs(st.atimeNs), secs(st.mtimeNs));
  }
}

async function setDirTimes(repo: Repo, root: Hash, dirs: [string, string][]): Promise<void> {
  for (let i = dirs.length - 1; i >= 0; i--) {
    const [path, dest] = dirs[i]!;
    const st = await repo.fs.lstat(root, path);
    await utimes(dest, secs(st.atimeNs), secs(st.mtimeNs));
  }
}

async function sameAsTree(repo: Repo, root: Hash, path: string, type: TreeEntry['type'], dest: string, have: import('node:fs').Stats): Promise<boolean> {
  if (type === 'directory') return have.isDirectory();
  if (type === 'symlink') return have.isSymbolicLink() && (await readlink(dest)) === (await repo.fs.readlink(root, path));
  if (type === 'fifo') return have.isFIFO();
  if (type === 'chardev' || type === 'blockdev') {
    const same = type === 'chardev' ? have.isCharacterDevice() : have.isBlockDevice();
    return same && have.rdev === (await repo.fs.lstat(root, path)).rdev;
  }
  if (!have.isFile()) return false;
  const st = await repo.fs.lstat(root, path);
  if (BigInt(have.size) !== st.size) return false;
  const mine = await readFile(dest);
  const theirs = await repo.fs.readFile(root, path);
  return Buffer.compare(mine, theirs) === 0;
}

export interface ExportOptions {
  force?: boolean | undefined;
  /** Make device nodes (as root only); default: leave them out. */
  devices?: boolean | undefined;
  /** Called as entries are written (or found up to date): `done` of `total` (the incremental atomic path: changes, total = done). */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface ExportResult {
  files: number;
  dirs: number;
  symlinks: number;
  /** Names (counted with files and symlinks) that are hard links of a name before them. */
  links: number;
  written: number;
}

/**
 * Writes the tree at `root:from` into `dir`. Existing files that differ from what would be
 * written are refused (nothing is written) unless `force`; other files in `dir` are left alone.
 */
export async function exportPlain(repo: Repo, root: Hash, from: string, dir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const top = await repo.fs.lstat(root, from);
  if (top.type !== 'directory') throw new CliError(`${from} is not a directory (use \`cafs cat\` for a file)`);
  const entries: TreeEntry[] = [];
  for await (const e of walkTree(repo, root, from, options.devices === true)) entries.push(e);
  const rel = (p: string): string => (from === '/' ? p : p.slice(from.length) || '/');
  const destOf = (e: TreeEntry): string => sub(dir, rel(e.path));
  const devices = options.devices === true;
  // What is there already, and whether it holds what the tree does.
  const have = new Map<string, import('node:fs').Stats>();
  await pool(entries, 16, async (e) => {
    const h = await exists(destOf(e));
    if (h !== undefined) have.set(e.path, h);
  });
  const groups = linkGroups(entries);
  const diskOf = (e: TreeEntry): string | undefined => {
    const h = have.get(e.path);
    return h === undefined || h.isDirectory() ? undefined : `${h.dev}:${h.ino}`;
  };
  const holderOf = (e: TreeEntry): TreeEntry | undefined => (e.inode === undefined ? undefined : groups.get(e.inode)![0]);
  const same = new Map<string, boolean>();
  const clobbered: string[] = [];
  const check = async (e: TreeEntry): Promise<void> => {
    const h = have.get(e.path)!;
    const ok = await sameAsTree(repo, root, e.path, e.type, destOf(e), h);
    same.set(e.path, ok);
    if (!ok) clobbered.push(destOf(e));
  };
  // An inode's other names already linked to its first name on disk hold what it holds: not read again.
  const linkedOnDisk = (e: TreeEntry): boolean => {
    const holder = holderOf(e);
    return holder !== undefined && holder !== e && diskOf(e) !== undefined && diskOf(e) === diskOf(holder);
  };
  await pool(
    entries.filter((e) => have.has(e.path) && !linkedOnDisk(e)),
    16,
    check,
  );
  for (const e of entries) if (have.has(e.path) && linkedOnDisk(e)) same.set(e.path, same.get(holderOf(e)!.path)!);
  if (clobbered.length > 0 && !options.force) {
    clobbered.sort();
    throw new CliError(`refusing to overwrite ${clobbered[0]}${clobbered.length > 1 ? ` and ${clobbered.length - 1} more` : ''} (they differ from the tree; use --force)`);
  }
  // A file on disk is up to date only if it is the one inode of its tree inode's names: names
  // linked on disk but not in the tree (or the other way) are written again.
  const users = new Map<string, Set<string>>();
  for (const e of entries) {
    const d = diskOf(e);
    if (d === undefined) continue;
    const u = users.get(d) ?? new Set<string>();
    u.add(e.inode ?? 'path:' + e.path);
    users.set(d, u);
  }
  const upToDate = (e: TreeEntry): boolean => same.get(e.path) === true && diskOf(e) !== undefined && users.get(diskOf(e)!)!.size === 1;
  const result: ExportResult = { files: 0, dirs: 0, symlinks: 0, links: 0, written: 0 };
  let done = 0;
  const tick = (): void => options.onProgress?.(++done, entries.length);
  const dirs: [string, string][] = [];
  // Directories first (in order, parents before children), then the rest in parallel, then the
  // other names of linked inodes once their first names are written.
  const rest: TreeEntry[] = [];
  const links: TreeEntry[] = [];
  for (const e of entries) {
    const dest = destOf(e);
    if (e.type !== 'directory') {
      if (e.type === 'file') result.files++;
      else if (e.type === 'symlink') result.symlinks++;
      const holder = holderOf(e);
      if (holder !== undefined && holder !== e) {
        result.links++;
        // Kept when the first name is kept and this one is already its link.
        if (upToDate(holder) && diskOf(e) === diskOf(holder)) tick();
        else links.push(e);
      } else if (upToDate(e)) tick();
      else rest.push(e);
      continue;
    }
    result.dirs++;
    const h = have.get(e.path);
    if (h !== undefined && !h.isDirectory()) await rm(dest, { force: true });
    dirs.push([e.path, dest]);
    await writeEntry(repo, root, e.path, dest, devices);
    if (h === undefined || !h.isDirectory()) result.written++;
    tick();
  }
  await pool(rest, 16, async (e) => {
    await replaceEntry(destOf(e), (at) => writeEntry(repo, root, e.path, at, devices));
    result.written++;
    tick();
  });
  await pool(links, 16, async (e) => {
    await linkEntry(repo, root, e.path, destOf(holderOf(e)!), destOf(e), devices);
    result.written++;
    tick();
  });
  await setDirTimes(repo, root, dirs);
  return result;
}

// ---- atomic projection ----

export const DATA_LINK = '..data';
const ROOT_FILE = '..root';

export interface AtomicResult {
  changed: boolean;
  /** The version directory now live (a `..`-name inside the target). */
  version: string;
  added: number;
  removed: number;
  modified: number;
  /** Whether the previous version was reused (hard links) and only the diff written. */
  incremental: boolean;
}

function versionName(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').replace('Z', '');
  return `..${t}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Copies a version directory with hard links for everything but directories (their inodes are
 * never changed later): symbolic links too (link(2) does not follow them), so names that are
 * one inode in the old version stay one in the copy.
 */
async function linkCopy(from: string, to: string): Promise<void> {
  const st = await lstat(from, { bigint: true });
  await mkdir(to);
  await chmod(to, Number(st.mode & 0o7777n));
  for (const e of await readdir(from, { withFileTypes: true })) {
    const a = join(from, e.name);
    const b = join(to, e.name);
    if (e.isDirectory()) await linkCopy(a, b);
    else if (e.name !== ROOT_FILE) await link(a, b);
  }
  await utimes(to, secs(st.mtimeNs), secs(st.mtimeNs));
}

/**
 * Projects `root` into `dir` so that readers see the old tree or the new one, never a mix:
 * the tree is written into a hidden version directory `dir/..<time>`, `dir/..data` is pointed
 * at it with one rename, every top-level name is a link `name -> ..data/name`, and the previous
 * version is removed afterwards. With a previous version, unchanged files are hard links to it
 * and only the diff is written.
 */
export async function exportAtomic(repo: Repo, root: Hash, dir: string, options: ExportOptions = {}): Promise<AtomicResult> {
  const top = await repo.fs.lstat(root, '/');
  if (top.type !== 'directory') throw new CliError('the root is not a directory');
  const names = await repo.fs.readdir(root, '/');
  const reserved = names.find((n) => n.startsWith('..'));
  if (reserved !== undefined) throw new CliError(`the tree has a top-level name ${JSON.stringify(reserved)}: names starting with ".." are reserved`);
  await mkdir(dir, { recursive: true });

  // What is there: our links and versions, or something else.
  const existing = await readdir(dir, { withFileTypes: true });
  let oldVersion: string | undefined;
  const dataLink = await exists(join(dir, DATA_LINK));
  if (dataLink?.isSymbolicLink()) oldVersion = await readlink(join(dir, DATA_LINK));
  for (const e of existing) {
    if (e.name.startsWith('..')) continue;
    const p = join(dir, e.name);
    const ours = e.isSymbolicLink() && (await readlink(p)) === `${DATA_LINK}/${e.name}`;
    if (!ours) {
      if (!options.force) throw new CliError(`refusing to replace ${p}: not part of a cafs projection (use --force)`);
      await rm(p, { recursive: true, force: true });
    }
  }

  let oldRoot: Hash | undefined;
  if (oldVersion !== undefined) {
    try {
      oldRoot = parseHash((await readFile(join(dir, oldVersion, ROOT_FILE), 'utf8')).trim());
      await repo.fs.lstat(oldRoot, '/');
    } catch {
      oldRoot = undefined;
    }
  }
  const result: AtomicResult = { changed: true, version: oldVersion ?? '', added: 0, removed: 0, modified: 0, incremental: false };

  if (oldRoot !== undefined && bytesToHex(oldRoot) === bytesToHex(root)) {
    result.changed = false;
  } else {
    const version = versionName();
    const vdir = join(dir, version);
    if (oldRoot !== undefined && oldVersion !== undefined) {
      result.incremental = true;
      await linkCopy(join(dir, oldVersion), vdir);
      const dirs: [string, string][] = [];
      // Linked inodes that changed (content, metadata or names), by their least name: written
      // once the diff is applied, their first name anew and every other name linked to it (an
      // unchanged name of a changed inode is in no change of the diff: it still names the old inode).
      const relink = new Map<string, string[]>();
      let changes = 0;
      for await (const c of repo.fs.diff(oldRoot, root)) {
        options.onProgress?.(++changes, changes);
        const dest = sub(vdir, c.path);
        if (c.op === 'remove') {
          await rm(dest, { recursive: true, force: true });
          result.removed++;
          continue;
        }
        const right = c.right!;
        if (c.op === 'add') result.added++;
        else result.modified++;
        if (right.type !== 'directory' && (c.rightLink !== undefined || (right.links?.length ?? 0) > 0)) {
          const holder = c.rightLink ?? c.path;
          if (!relink.has(holder)) relink.set(holder, [holder, ...(right.links ?? []).map(keyPath)]);
          continue;
        }
        if (right.type === 'directory') {
          const have = await exists(dest);
          if (have !== undefined && !have.isDirectory()) await rm(dest, { force: true });
          await writeEntry(repo, root, c.path, dest, options.devices === true);
          dirs.push([c.path, dest]);
        } else {
          // Never change a linked inode in place: a new file replaces it.
          await rm(dest, { recursive: true, force: true });
          await writeEntry(repo, root, c.path, dest, options.devices === true);
        }
      }
      for (const names of relink.values()) {
        const [holder, ...others] = names.map((p) => [p, sub(vdir, p)] as const);
        await rm(holder![1], { recursive: true, force: true });
        await writeEntry(repo, root, holder![0], holder![1], options.devices === true);
        for (const [path, dest] of others) {
          await linkEntry(repo, root, path, holder![1], dest, options.devices === true);
          // Its directory may be in no change of the diff: its time is set again below.
          const parent = path.slice(0, path.lastIndexOf('/')) || '/';
          dirs.push([parent, sub(vdir, parent)]);
        }
      }
      await setDirTimes(repo, root, dirs);
    } else {
      await mkdir(vdir);
      const r = await exportPlain(repo, root, '/', vdir, { force: true, devices: options.devices, onProgress: options.onProgress });
      result.added = r.files + r.dirs + r.symlinks - 1;
    }
    await writeFile(join(vdir, ROOT_FILE), bytesToHex(root) + '\n');
    // The switch: one rename of a symbolic link.
    const tmp = join(dir, `${DATA_LINK}.tmp-${process.pid}`);
    await rm(tmp, { force: true });
    await symlink(version, tmp);
    await rename(tmp, join(dir, DATA_LINK));
    result.version = version;
  }

  // User-visible names: links through ..data (added ones now, gone ones removed).
  const want = new Set(names);
  for (const name of names) {
    const p = join(dir, name);
    const have = await exists(p);
    if (have?.isSymbolicLink() && (await readlink(p)) === `${DATA_LINK}/${name}`) continue;
    const tmp = join(dir, `..link.tmp-${process.pid}`);
    await rm(tmp, { force: true });
    await symlink(`${DATA_LINK}/${name}`, tmp);
    await rename(tmp, p);
  }
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('..')) {
      if (e.name !== DATA_LINK && e.name !== result.version && e.isDirectory()) await rm(join(dir, e.name), { recursive: true, force: true });
      continue;
    }
    if (!want.has(e.name)) await unlink(join(dir, e.name));
  }
  return result;
}

