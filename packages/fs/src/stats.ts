import type { FileType, Info } from './info.js';

const S_IFMT: Record<FileType, number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  chardev: 0o020000,
  blockdev: 0o060000,
};

/** The type tests of node:fs's Stats and Dirent, from a `type` (shared by every stats-like class). */
export abstract class FileTypeTests {
  abstract readonly type: FileType;
  isFile(): boolean {
    return this.type === 'file';
  }
  isDirectory(): boolean {
    return this.type === 'directory';
  }
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
  isFIFO(): boolean {
    return this.type === 'fifo';
  }
  isSocket(): boolean {
    return this.type === 'socket';
  }
  isBlockDevice(): boolean {
    return this.type === 'blockdev';
  }
  isCharacterDevice(): boolean {
    return this.type === 'chardev';
  }
}

/** What `stat` returns: node:fs's Stats, with sizes and times as bigints. */
export class Stats extends FileTypeTests {
  readonly type: FileType;
  /** File type and permission bits, as st_mode. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  /** 512-byte units stored (holes are not). */
  readonly blocks: bigint;
  readonly blksize = 4096;
  readonly nlink: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  /** The access time set explicitly, else the modification time (reads never change it). */
  readonly atimeNs: bigint;
  /** Device number of a device node (makedev(major, minor)); 0 for others. */
  readonly rdev: number;

  /**
   * Inode number: the same for every name of one inode (a hash of the key that holds it, so it
   * stays the same across mounts and processes; a rename can change it, as on most FUSE file
   * systems). 1 for the root; 0 when made without a key.
   */
  readonly ino: number;

  constructor(info: Info, key?: Uint8Array) {
    super();
    this.ino = key === undefined ? 0 : inodeNumber(key);
    this.type = info.type;
    this.mode = S_IFMT[info.type] | (info.mode & 0o7777);
    this.uid = info.uid;
    this.gid = info.gid;
    this.size = info.size;
    this.blocks = (info.allocated + 511n) / 512n;
    this.nlink = info.type === 'directory' ? 2 : 1 + (info.links?.length ?? 0);
    this.mtimeNs = info.mtimeNs;
    this.ctimeNs = info.ctimeNs;
    this.atimeNs = info.atimeNs ?? info.mtimeNs;
    this.rdev = info.rdev ?? 0;
  }

  get mtimeMs(): number {
    return Number(this.mtimeNs / 1000n) / 1000;
  }
  get ctimeMs(): number {
    return Number(this.ctimeNs / 1000n) / 1000;
  }
  get atimeMs(): number {
    return Number(this.atimeNs / 1000n) / 1000;
  }
  get atime(): Date {
    return new Date(this.atimeMs);
  }
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
  get ctime(): Date {
    return new Date(this.ctimeMs);
  }
}

/** Device numbers as glibc's dev_t holds them (what stat(2) and mknod(2) use on Linux). */
export function makedev(major: number, minor: number): number {
  const M = BigInt(major);
  const m = BigInt(minor);
  return Number((m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & 0xffffff00n) << 12n) | ((M & 0xfffff000n) << 32n));
}
export const devMajor = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & 0xfffff000n));
export const devMinor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & 0xffffff00n));

/** A 52-bit FNV-1a hash of an inode's key (1 for the root "/"), never 0. */
export function inodeNumber(key: Uint8Array): number {
  if (key.length === 1) return 1;
  // Two 32-bit FNV-1a lanes with different offsets: 20 bits of one above the 32 of the other.
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    a = Math.imul(a ^ key[i]!, 0x01000193);
    b = Math.imul(b ^ key[i]!, 0x01000193);
  }
  const n = (b >>> 12) * 2 ** 32 + (a >>> 0);
  return n <= 1 ? n + 2 : n;
}
