// FileHandle: an open file of a Drive, with a file position. Writes are applied at once (each a
// new root), in call order with everything else on the drive.
import { constants } from 'node:fs';
import { FsError } from '@cafs/fs';
import type { Drive } from './drive.js';
import * as ops from './ops.js';
import { DriveBigIntStats, DriveStats, driveError, encodingOf, fromBytes, parseMode, toBytes, type Encoding } from './util.js';
import type { Time } from '@cafs/fs';

export type OpenFlags = string | number;

export interface ParsedFlags {
  read: boolean;
  write: boolean;
  create: boolean;
  trunc: boolean;
  excl: boolean;
  append: boolean;
}

const FLAGS: Record<string, ParsedFlags> = {};
{
  const def = (names: string[], f: Partial<ParsedFlags>): void => {
    for (const n of names) FLAGS[n] = { read: false, write: false, create: false, trunc: false, excl: false, append: false, ...f };
  };
  def(['r', 'rs', 'sr'], { read: true });
  def(['r+', 'rs+', 'sr+'], { read: true, write: true });
  def(['w'], { write: true, create: true, trunc: true });
  def(['wx', 'xw'], { write: true, create: true, trunc: true, excl: true });
  def(['w+'], { read: true, write: true, create: true, trunc: true });
  def(['wx+', 'xw+'], { read: true, write: true, create: true, trunc: true, excl: true });
  def(['a', 'as', 'sa'], { write: true, create: true, append: true });
  def(['ax', 'xa'], { write: true, create: true, append: true, excl: true });
  def(['a+', 'as+', 'sa+'], { read: true, write: true, create: true, append: true });
  def(['ax+', 'xa+'], { read: true, write: true, create: true, append: true, excl: true });
}

export function parseFlags(flags: OpenFlags): ParsedFlags {
  if (typeof flags === 'number') {
    const acc = flags & 3;
    return {
      read: acc === constants.O_RDONLY || acc === constants.O_RDWR,
      write: acc === constants.O_WRONLY || acc === constants.O_RDWR,
      create: (flags & constants.O_CREAT) !== 0,
      trunc: (flags & constants.O_TRUNC) !== 0 && acc !== constants.O_RDONLY,
      excl: (flags & constants.O_EXCL) !== 0 && (flags & constants.O_CREAT) !== 0,
      append: (flags & constants.O_APPEND) !== 0,
    };
  }
  const f = FLAGS[flags];
  if (f === undefined) throw driveError('EINVAL', 'open', undefined, `invalid flags ${JSON.stringify(flags)}`);
  return f;
}

type Position = number | bigint | null | undefined;

export interface ReadResult<T> {
  bytesRead: number;
  buffer: T;
}
export interface WriteResult<T> {
  bytesWritten: number;
  buffer: T;
}

function outOfRange(what: string): RangeError {
  const e = new RangeError(`The value of "${what}" is out of range.`) as RangeError & { code: string };
  e.code = 'ERR_OUT_OF_RANGE';
  return e;
}

/** A node:fs/promises FileHandle on a Drive. */
export class DriveFileHandle {
  private _fd: number;
  private pos = 0;
  readonly path: string;
  readonly flags: ParsedFlags;

  constructor(
    private readonly drive: Drive,
    fd: number,
    path: string,
    flags: ParsedFlags,
  ) {
    this._fd = fd;
    this.path = path;
    this.flags = flags;
  }

  /** The descriptor number; -1 once closed. */
  get fd(): number {
    return this._fd;
  }

  /** The current file position. */
  get position(): number {
    return this.pos;
  }

  private check(syscall: string, need?: 'read' | 'write'): void {
    if (this._fd < 0) throw driveError('EBADF', syscall);
    if (need === 'read' && !this.flags.read) throw driveError('EBADF', syscall);
    if (need === 'write' && !this.flags.write) throw driveError('EBADF', syscall);
  }

  private rethrow(syscall: string) {
    return (err: unknown): never => {
      // The path is an implementation detail: errors name the syscall, as fd errors do.
      if (err instanceof FsError && err.code === 'ENOENT') throw driveError('ENOENT', syscall, this.path, 'the open file was removed');
      throw err;
    };
  }

  /**
   * read(buffer, offset, length, position), read(buffer, {offset, length, position}),
   * read({buffer, offset, length, position}) or read(): bytes at `position`, or at the file
   * position (advancing it) when position is null/undefined/-1.
   */
  async read<T extends NodeJS.ArrayBufferView = Buffer>(
    buffer?: T | { buffer?: T; offset?: number; length?: number; position?: Position },
    offset?: number | { offset?: number; length?: number; position?: Position },
    length?: number,
    position?: Position,
  ): Promise<ReadResult<T>> {
    this.check('read');
    let buf: T;
    if (buffer === undefined || !ArrayBuffer.isView(buffer)) {
      const o = (buffer ?? {}) as { buffer?: T; offset?: number; length?: number; position?: Position };
      buf = o.buffer ?? (Buffer.alloc(16384) as unknown as T);
      offset = o.offset;
      length = o.length;
      position = o.position;
    } else {
      buf = buffer;
      if (typeof offset === 'object' && offset !== null) {
        const o = offset;
        offset = o.offset;
        length = o.length;
        position = o.position;
      }
    }
    const off = offset ?? 0;
    const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const len = length ?? view.length - off;
    if (!Number.isInteger(off) || off < 0 || off > view.length) throw outOfRange('offset');
    if (!Number.isInteger(len) || len < 0 || off + len > view.length) throw outOfRange('length');
    const usePos = position === null || position === undefined || position === -1 || position === -1n;
    // As Node: an empty read returns at once, without the syscall (so no EBADF on a write-only handle).
    if (len === 0) return { bytesRead: 0, buffer: buf };
    this.check('read', 'read');
    return this.drive._read(async (root) => {
      this.check('read', 'read');
      const at = usePos ? this.pos : Number(position);
      const bytes = await this.drive.fs.read(root, this.path, { offset: at, length: len }).catch(this.rethrow('read'));
      view.set(bytes, off);
      if (usePos) this.pos = at + bytes.length;
      return { bytesRead: bytes.length, buffer: buf };
    });
  }

  /**
   * write(buffer, offset, length, position), write(buffer, {offset, length, position}) or
   * write(string, position, encoding). In append mode every write goes to the end of the file.
   */
  async write<T extends NodeJS.ArrayBufferView | string>(
    data: T,
    offset?: number | null | { offset?: number; length?: number; position?: Position },
    length?: number | BufferEncoding | null,
    position?: Position,
  ): Promise<WriteResult<T>> {
    this.check('write');
    let bytes: Uint8Array;
    let pos: Position;
    if (typeof data === 'string') {
      pos = offset as Position;
      bytes = toBytes(data, (length as BufferEncoding | null) ?? 'utf8');
    } else {
      let off = offset as number | null | undefined;
      let len = length as number | null | undefined;
      pos = position;
      if (typeof offset === 'object' && offset !== null) {
        off = offset.offset;
        len = offset.length;
        pos = offset.position;
      }
      const view = toBytes(data);
      const o = off ?? 0;
      const l = len ?? view.length - o;
      if (!Number.isInteger(o) || o < 0 || o > view.length) throw outOfRange('offset');
      if (!Number.isInteger(l) || l < 0 || o + l > view.length) throw outOfRange('length');
      bytes = view.subarray(o, o + l);
    }
    // As Node: an empty write returns at once, without the syscall.
    if (bytes.length === 0) return { bytesWritten: 0, buffer: data };
    this.check('write', 'write');
    const n = await this.writeBytes(bytes, pos);
    return { bytesWritten: n, buffer: data };
  }

  /** Writes `bytes` at `position` (or the file position); returns the count. */
  private writeBytes(bytes: Uint8Array, position: Position): Promise<number> {
    const usePos = position === null || position === undefined || position === -1 || position === -1n;
    return this.drive
      ._change('write', this.path, async (b) => {
        this.check('write', 'write');
        let at: number;
        if (this.flags.append) at = Number((await b.stat(this.path)).size);
        else at = usePos ? this.pos : Number(position);
        await b.write(this.path, at, bytes);
        if (usePos) this.pos = at + bytes.length;
        return bytes.length;
      })
      .catch(this.rethrow('write'));
  }

  async writev(buffers: NodeJS.ArrayBufferView[], position?: Position): Promise<{ bytesWritten: number; buffers: NodeJS.ArrayBufferView[] }> {
    this.check('write', 'write');
    const n = await this.writeBytes(Buffer.concat(buffers.map((x) => toBytes(x))), position);
    return { bytesWritten: n, buffers };
  }

  async readv(buffers: NodeJS.ArrayBufferView[], position?: Position): Promise<{ bytesRead: number; buffers: NodeJS.ArrayBufferView[] }> {
    let total = 0;
    let at = position === null || position === undefined ? null : Number(position);
    for (const b of buffers) {
      const { bytesRead } = await this.read(b, 0, b.byteLength, at);
      total += bytesRead;
      if (at !== null) at += bytesRead;
      if (bytesRead < b.byteLength) break;
    }
    return { bytesRead: total, buffers };
  }

  /** The rest of the file from the file position (advancing it), as Node's filehandle.readFile. */
  async readFile(options?: { encoding?: Encoding; signal?: AbortSignal } | BufferEncoding | null): Promise<Buffer | string> {
    this.check('read', 'read');
    if (typeof options === 'object' && options?.signal) options.signal.throwIfAborted();
    const bytes = await this.drive._read(async (root) => {
      this.check('read', 'read');
      const st = await this.drive.fs.stat(root, this.path).catch(this.rethrow('read'));
      if (st.type === 'directory') throw driveError('EISDIR', 'read');
      const size = Number(st.size);
      const out = this.pos >= size ? new Uint8Array(0) : await this.drive.fs.read(root, this.path, { offset: this.pos, length: size - this.pos });
      this.pos += out.length;
      return out;
    });
    return fromBytes(bytes, encodingOf(options));
  }

  /** Writes `data` from the file position (or at the end, in append mode), as Node's filehandle.writeFile. */
  async writeFile(data: unknown, options?: ops.WriteFileOptions | BufferEncoding | null): Promise<void> {
    this.check('write', 'write');
    const enc = encodingOf(options);
    let bytes: Uint8Array;
    if (typeof data === 'string' || ArrayBuffer.isView(data)) bytes = toBytes(data, enc);
    else {
      const parts: Uint8Array[] = [];
      for await (const p of data as AsyncIterable<unknown>) parts.push(toBytes(p, enc));
      bytes = Buffer.concat(parts);
    }
    await this.writeBytes(bytes, null);
  }

  appendFile(data: unknown, options?: ops.WriteFileOptions | BufferEncoding | null): Promise<void> {
    return this.writeFile(data, options);
  }

  async truncate(len = 0): Promise<void> {
    this.check('ftruncate');
    if (!this.flags.write) throw driveError('EINVAL', 'ftruncate');
    await this.drive._change('ftruncate', this.path, (b) => b.truncate(this.path, len < 0 ? 0 : len)).catch(this.rethrow('ftruncate'));
  }

  stat(options: { bigint: true }): Promise<DriveBigIntStats>;
  stat(options?: { bigint?: false }): Promise<DriveStats>;
  async stat(options?: { bigint?: boolean }): Promise<DriveStats | DriveBigIntStats> {
    this.check('fstat');
    return this.drive.stat(this.path, options).catch(this.rethrow('fstat'));
  }

  async chmod(mode: number | string): Promise<void> {
    this.check('fchmod');
    await this.drive.chmod(this.path, parseMode(mode, 0));
  }
  async chown(uid: number, gid: number): Promise<void> {
    this.check('fchown');
    await this.drive.chown(this.path, uid, gid);
  }
  async utimes(atime: Time | string, mtime: Time | string): Promise<void> {
    this.check('futime');
    await this.drive.utimes(this.path, atime, mtime);
  }

  /** Nothing to flush: writes are applied at once. */
  async sync(): Promise<void> {
    this.check('fsync');
  }
  async datasync(): Promise<void> {
    this.check('fdatasync');
  }

  async close(): Promise<void> {
    if (this._fd < 0) return;
    // Let operations queued before the close finish first.
    await this.drive._run(async () => undefined).catch(() => undefined);
    this.drive._closed(this);
    this._fd = -1;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
