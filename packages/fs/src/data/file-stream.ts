// Streaming a file's bytes with read-ahead: several blob fetches in flight while the consumer
// (a socket, usually) takes the pieces before them, bounded in bytes so that memory per stream
// stays constant. Long scans go around the blob LRU: a 64 MiB file streamed twice would push
// everything else out of a 64 MiB cache and find none of its own blobs there the second time.
import type { KvReader } from '../kv-view.js';
import { extentsFrom, type BlobCache } from './file-data.js';

/** Bytes of blob fetches a stream keeps in flight ahead of its consumer. */
export const READ_AHEAD_BYTES = 1024 * 1024;
/** ...and at most this many fetches. */
export const READ_AHEAD_FETCHES = 16;
/** Streams of at least this many bytes read around the LRU (they still use its hits). */
export const SCAN_BYTES = 4 * 1024 * 1024;

interface Pending {
  /** The piece's bytes: ready (inline data, zeros) or being fetched. */
  bytes: Uint8Array | Promise<Uint8Array>;
  length: number;
}

/** [start, end) of the file whose extents are under `info`; holes as zeros in 64 KiB pieces. */
export async function* streamRange(
  kv: KvReader,
  blobs: BlobCache,
  info: Uint8Array,
  start: bigint,
  end: bigint,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  if (end <= start) return;
  const scan = end - start >= BigInt(SCAN_BYTES) && blobs.getUncached !== undefined;
  const fetch = (hash: Uint8Array): Promise<Uint8Array> => (scan ? blobs.getUncached!(hash) : blobs.get(hash));
  const queue: Pending[] = [];
  let queued = 0;
  const push = (p: Pending): void => {
    // A consumer that stops early must not leave a rejection unhandled.
    if (p.bytes instanceof Promise) p.bytes.catch(() => {});
    queue.push(p);
    queued += p.length;
  };
  async function* drain(limitBytes: number, limitCount: number): AsyncGenerator<Uint8Array> {
    while (queue.length > 0 && (queued > limitBytes || queue.length > limitCount)) {
      const p = queue.shift()!;
      queued -= p.length;
      const bytes = await p.bytes;
      signal?.throwIfAborted();
      yield bytes;
    }
  }
  const zeros = (n: bigint): void => {
    // Lazily in bounded pieces: a hole may be far larger than memory, so the caller drains between.
    const k = n < 65536n ? Number(n) : 65536;
    push({ bytes: new Uint8Array(k), length: k });
  };
  let pos = start;
  for await (const x of extentsFrom(kv, info, pos)) {
    signal?.throwIfAborted();
    if (pos >= end) break;
    const gapEnd = x.start < end ? x.start : end;
    while (pos < gapEnd) {
      const before = queued;
      zeros(gapEnd - pos);
      pos += BigInt(queued - before);
      yield* drain(READ_AHEAD_BYTES, READ_AHEAD_FETCHES);
    }
    if (pos >= end) break;
    const from = Number(pos - x.start);
    const to = Number((x.end < end ? x.end : end) - x.start);
    const e = x.extent;
    if (e.inline !== undefined) push({ bytes: e.inline.subarray(from, to), length: to - from });
    else push({ bytes: fetch(e.ref).then((b) => b.subarray(e.offset + from, e.offset + to)), length: to - from });
    pos = x.end < end ? x.end : end;
    yield* drain(READ_AHEAD_BYTES, READ_AHEAD_FETCHES);
  }
  while (pos < end) {
    const before = queued;
    zeros(end - pos);
    pos += BigInt(queued - before);
    yield* drain(READ_AHEAD_BYTES, READ_AHEAD_FETCHES);
  }
  yield* drain(-1, -1);
}
