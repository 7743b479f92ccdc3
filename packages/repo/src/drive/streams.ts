// createReadStream / createWriteStream: real node:stream Readable and Writable over FileHandles.
import { Readable, Writable } from 'node:stream';
import type { Drive } from './drive.js';
import type { DriveFileHandle, OpenFlags } from './file-handle.js';
import { showPath } from './util.js';

export interface ReadStreamOptions {
  flags?: OpenFlags;
  encoding?: BufferEncoding | null;
  /** First byte to read. */
  start?: number;
  /** Last byte to read (inclusive, as Node). */
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}

export interface WriteStreamOptions {
  flags?: OpenFlags;
  encoding?: BufferEncoding;
  mode?: number;
  /** Where the first write goes (default: the file position, 0 unless appending). */
  start?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}

export interface DriveReadStream extends Readable {
  readonly path: string;
  bytesRead: number;
}

export interface DriveWriteStream extends Writable {
  readonly path: string;
  bytesWritten: number;
}

export function createReadStream(drive: Drive, path: string | Uint8Array, options: ReadStreamOptions | BufferEncoding = {}): DriveReadStream {
  const o: ReadStreamOptions = typeof options === 'string' ? { encoding: options } : options;
  const hwm = o.highWaterMark ?? 64 * 1024;
  const end = o.end ?? Infinity;
  let pos = o.start ?? 0;
  let handle: DriveFileHandle | undefined;
  const stream = new Readable({
    highWaterMark: hwm,
    encoding: o.encoding ?? undefined,
    signal: o.signal,
    construct(callback) {
      drive.open(path, o.flags ?? 'r').then(
        (h) => {
          handle = h;
          stream.emit('open', h.fd);
          stream.emit('ready');
          callback();
        },
        (err: Error) => callback(err),
      );
    },
    read(size) {
      const want = Math.min(Math.max(size, 1), hwm, end - pos + 1);
      if (want <= 0) {
        this.push(null);
        return;
      }
      handle!.read<Buffer>(Buffer.allocUnsafe(want), 0, want, pos).then(
        ({ bytesRead, buffer }) => {
          if (bytesRead === 0) {
            this.push(null);
            return;
          }
          pos += bytesRead;
          s.bytesRead += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        },
        (err: Error) => this.destroy(err),
      );
    },
    destroy(err, callback) {
      if (handle === undefined) return callback(err);
      handle.close().then(
        () => callback(err),
        (e: Error) => callback(err ?? e),
      );
    },
  });
  const s = stream as DriveReadStream;
  Object.defineProperty(s, 'path', { value: showPath(path), enumerable: true });
  s.bytesRead = 0;
  return s;
}

export function createWriteStream(drive: Drive, path: string | Uint8Array, options: WriteStreamOptions | BufferEncoding = {}): DriveWriteStream {
  const o: WriteStreamOptions = typeof options === 'string' ? { encoding: options } : options;
  let pos: number | null = o.start ?? null;
  let handle: DriveFileHandle | undefined;
  const write = async (chunk: Uint8Array): Promise<void> => {
    const { bytesWritten } = await handle!.write(chunk, 0, chunk.length, pos);
    if (pos !== null) pos += bytesWritten;
    s.bytesWritten += bytesWritten;
  };
  const stream = new Writable({
    highWaterMark: o.highWaterMark,
    decodeStrings: true,
    defaultEncoding: o.encoding ?? 'utf8',
    signal: o.signal,
    construct(callback) {
      // Node's default is 'w' even with `start`: pass 'r+' to keep the rest of the file.
      drive.open(path, o.flags ?? 'w', o.mode).then(
        (h) => {
          handle = h;
          stream.emit('open', h.fd);
          stream.emit('ready');
          callback();
        },
        (err: Error) => callback(err),
      );
    },
    write(chunk: Buffer, _encoding, callback) {
      write(chunk).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      write(Buffer.concat(chunks.map((c) => c.chunk as Buffer))).then(() => callback(), callback);
    },
    final(callback) {
      callback();
    },
    destroy(err, callback) {
      if (handle === undefined) return callback(err);
      handle.close().then(
        () => callback(err),
        (e: Error) => callback(err ?? e),
      );
    },
  });
  const s = stream as DriveWriteStream;
  Object.defineProperty(s, 'path', { value: showPath(path), enumerable: true });
  s.bytesWritten = 0;
  return s;
}
