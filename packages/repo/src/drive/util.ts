// Small helpers shared by the Drive's files: errors, paths, Node-shaped stats and dirents.
import { fileURLToPath } from 'node:url';
import { FileTypeTests, FsError, type FsErrorCode, type Stats, type DirEntry } from '@cafs/fs';

/** Codes the Drive raises beyond @cafs/fs's own (still as FsErrors, shaped like Node's). */
export type DriveErrorCode = FsErrorCode | 'EBADF' | 'EROFS' | 'ENOSYS';

const EXTRA: Record<string, string> = {
  EBADF: 'bad file descriptor',
  EROFS: 'read-only file system',
  ENOSYS: 'function not implemented',
};

export function driveError(code: DriveErrorCode, syscall: string, path?: string, detail?: string, dest?: string): FsError {
  return new FsError(code as FsErrorCode, syscall, path, detail ?? EXTRA[code], dest);
}

export type PathArg = string | Uint8Array | URL;

/** A path as @cafs/fs takes it: URLs become paths; Buffers stay raw bytes. */
export function toPath(p: PathArg, syscall = 'open'): string | Uint8Array {
  if (typeof p === 'string') return p;
  if (p instanceof Uint8Array) return p;
  if (p instanceof URL) return fileURLToPath(p);
  throw driveError('EINVAL', syscall, String(p), 'path must be a string, Buffer or URL');
}

export function showPath(p: string | Uint8Array): string {
  return typeof p === 'string' ? p : Buffer.from(p).toString('utf8');
}

/** `/a/./b//c/` -> `/a/b/c` (no `..` handling: the resolver does that against real directories). */
export function normalize(p: string | Uint8Array): string {
  const parts = showPath(p).split('/').filter((x) => x !== '' && x !== '.');
  return '/' + parts.join('/');
}

/** The device number every Drive reports ("ca" "f5"). */
export const DRIVE_DEV = 0xcaf5;

const nsToMs = (ns: bigint): number => Number(ns / 1000n) / 1000;

/** node:fs Stats: number fields; atime is mtime (reads never change a root), birthtime is ctime. */
export class DriveStats extends FileTypeTests {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;
  /** The file type, as @cafs/fs names it. */
  readonly type: Stats['type'];

  constructor(s: Stats, path: string) {
    super();
    this.type = s.type;
    this.dev = DRIVE_DEV;
    this.ino = s.ino;
    this.mode = s.mode;
    this.nlink = s.nlink;
    this.uid = s.uid;
    this.gid = s.gid;
    this.rdev = s.rdev;
    this.size = Number(s.size);
    this.blksize = s.blksize;
    this.blocks = Number(s.blocks);
    this.mtimeMs = nsToMs(s.mtimeNs);
    this.ctimeMs = nsToMs(s.ctimeNs);
    this.atimeMs = nsToMs(s.atimeNs);
    this.birthtimeMs = this.ctimeMs;
    this.mtime = new Date(this.mtimeMs);
    this.atime = new Date(this.atimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }
}

/** node:fs BigIntStats: bigint fields, plus the *Ns times. */
export class DriveBigIntStats extends FileTypeTests {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;
  readonly type: Stats['type'];

  constructor(s: Stats, path: string) {
    super();
    this.type = s.type;
    this.dev = BigInt(DRIVE_DEV);
    this.ino = BigInt(s.ino);
    this.mode = BigInt(s.mode);
    this.nlink = BigInt(s.nlink);
    this.uid = BigInt(s.uid);
    this.gid = BigInt(s.gid);
    this.rdev = BigInt(s.rdev);
    this.size = s.size;
    this.blksize = BigInt(s.blksize);
    this.blocks = s.blocks;
    this.mtimeNs = s.mtimeNs;
    this.ctimeNs = s.ctimeNs;
    this.atimeNs = s.atimeNs;
    this.birthtimeNs = s.ctimeNs;
    this.mtimeMs = s.mtimeNs / 1_000_000n;
    this.ctimeMs = s.ctimeNs / 1_000_000n;
    this.atimeMs = s.atimeNs / 1_000_000n;
    this.birthtimeMs = this.ctimeMs;
    this.mtime = new Date(nsToMs(s.mtimeNs));
    this.atime = new Date(nsToMs(s.atimeNs));
    this.ctime = new Date(nsToMs(s.ctimeNs));
    this.birthtime = this.ctime;
  }
}

/** node:fs Dirent. */
export class DriveDirent extends FileTypeTests {
  readonly name: string | Buffer;
  readonly parentPath: string;
  /** Deprecated alias of parentPath, as Node 20 still has it. */
  readonly path: string;
  readonly type: DirEntry['type'];
  constructor(name: string | Buffer, parentPath: string, type: DirEntry['type']) {
    super();
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.type = type;
  }
}

export type Encoding = BufferEncoding | 'buffer' | null | undefined;

/** Bytes to write from what node:fs accepts: strings (with an encoding), Buffers, any ArrayBufferView. */
export function toBytes(data: unknown, encoding?: Encoding): Uint8Array {
  if (typeof data === 'string') return encoding && encoding !== 'buffer' && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(data, encoding) : Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw driveError('EINVAL', 'write', undefined, 'data must be a string, Buffer, TypedArray or DataView');
}

/** Bytes as Node returns them: a Buffer, or a string for an encoding. */
export function fromBytes(bytes: Uint8Array, encoding: Encoding): Buffer | string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding && encoding !== 'buffer' ? buf.toString(encoding) : buf;
}

export function encodingOf(options: unknown): Encoding {
  if (typeof options === 'string') return options as BufferEncoding;
  if (options && typeof options === 'object' && 'encoding' in options) return (options as { encoding?: Encoding }).encoding;
  return undefined;
}

/** Modes as node:fs takes them: numbers or octal strings. */
export function parseMode(mode: number | string | undefined, fallback: number): number {
  if (mode === undefined || mode === null) return fallback;
  if (typeof mode === 'string') {
    if (!/^[0-7]+$/.test(mode)) throw driveError('EINVAL', 'chmod', undefined, `invalid mode ${mode}`);
    return parseInt(mode, 8);
  }
  return mode;
}
