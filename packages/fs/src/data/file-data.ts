// Reading a file's bytes from its extents, and rewriting a range of them canonically.
import type { BlobStore } from '@cafs/kv';
import { decodeExtent, encodeExtent, extentLength, type Extent } from '../extent.js';
import { extentEnd, extentKey, extentRange } from '../keys.js';
import type { KvReader, Txn } from '../kv-view.js';
import { sha256, type HashedBlob } from '@cafs/kv';
import { INLINE_MAX } from '../extent.js';
import { CDC_MIN_SIZE } from './cdc.js';
import { chunkCopy } from './chunk-copies.js';
import { unsharedView } from './shared-memory.js';
import { BLOCK_SIZE, ExtentWriter, isZero } from './extent-writer.js';

const BLOCK = BigInt(BLOCK_SIZE);

export interface StoredExtent {
  key: Uint8Array;
  start: bigint;
  end: bigint;
  extent: Extent;
}

/** The file's extents that end after `from`, in order. */
export async function* extentsFrom(reader: KvReader, info: Uint8Array, from: bigint): AsyncGenerator<StoredExtent> {
  const { lt } = extentRange(info);
  for await (const e of reader.entries({ gt: extentKey(info, from), lt })) {
    const extent = decodeExtent(e.value);
    const end = extentEnd(e.key);
    yield { key: e.key, start: end - BigInt(extentLength(extent)), end, extent };
  }
}

/** The bytes an extent points at (a view: do not modify). */
export async function extentBytes(blobs: BlobCache, e: Extent): Promise<Uint8Array> {
  if (e.inline !== undefined) return e.inline;
  const blob = await blobs.get(e.ref);
  return blob.subarray(e.offset, e.offset + e.length);
}

/** Fetches blobs through the store, remembering recent ones (they are verified once). */
export interface BlobCache {
  get(hash: Uint8Array): Promise<Uint8Array>;
  /** As `get`, but a blob not in the cache is fetched without being added (long sequential scans). */
  getUncached?(hash: Uint8Array): Promise<Uint8Array>;
  readonly store: BlobStore;
}

/**
 * Reads [offset, offset + length) of a file of `size` bytes. Holes read as zeros. A range inside
 * one extent comes back as a view of the blob, without copying.
 */
export async function readRange(
  reader: KvReader,
  blobs: BlobCache,
  info: Uint8Array,
  size: bigint,
  offset: bigint,
  length: number,
): Promise<Uint8Array> {
  const end = offset + BigInt(length) < size ? offset + BigInt(length) : size;
  if (end <= offset) return new Uint8Array(0);
  const n = Number(end - offset);
  let out: Uint8Array | undefined;
  // The extent entries straight from the reader (no generator in between), one blob at a time.
  const { lt } = extentRange(info);
  for await (const e of reader.entries({ gt: extentKey(info, offset), lt })) {
    const extent = decodeExtent(e.value);
    const xEnd = extentEnd(e.key);
    const xStart = xEnd - BigInt(extentLength(extent));
    if (xStart >= end) break;
    const bytes = extent.inline ?? (await blobs.get(extent.ref)).subarray(extent.offset, extent.offset + extent.length);
    const from = offset > xStart ? Number(offset - xStart) : 0;
    const to = Number((end < xEnd ? end : xEnd) - xStart);
    if (out === undefined && xStart <= offset && xEnd >= end) return unsharedView(bytes, from, to);
    // One allocation of the whole result; holes stay as its zeros.
    out ??= new Uint8Array(n);
    out.set(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to), Number(xStart + BigInt(from) - offset));
  }
  return out ?? new Uint8Array(n);
}

export interface RewriteResult {
  /** Bytes stored for the file after the rewrite minus before. */
  allocatedDelta: bigint;
}

/**
 * Changes a file's content to: the old content with `patch` written at its offset, cut or
 * extended (with zeros) to `newSize`. Only the chunks around the change are rewritten: the
 * chunking restarts at the last cut before the change and stops where it meets an old cut
 * again, so the result is the extents a fresh write of the whole content would give.
 */
export async function rewrite(
  txn: Txn,
  blobs: BlobCache,
  info: Uint8Array,
  oldSize: bigint,
  newSize: bigint,
  patch: { offset: bigint; bytes: Uint8Array } | undefined,
): Promise<RewriteResult> {
  // The everyday small file: the whole content written into an empty file.
  if (patch !== undefined && oldSize === 0n && patch.offset === 0n && newSize === BigInt(patch.bytes.length) && patch.bytes.length < CDC_MIN_SIZE) {
    return { allocatedDelta: await writeSmall(txn, blobs, info, patch.bytes) };
  }
  const writeStart = patch ? patch.offset : oldSize < newSize ? oldSize : newSize;
  const writeEnd = patch ? patch.offset + BigInt(patch.bytes.length) : oldSize > newSize ? oldSize : newSize;
  const block0 = writeStart - (writeStart % BLOCK);

  // Restart at the cut before the block the change starts in, or at that block if a hole precedes it.
  let start = block0;
  if (block0 > 0n) {
    for await (const x of extentsFrom(txn, info, block0 - 1n)) {
      if (x.start <= block0 - 1n) start = x.start;
      break;
    }
  }

  const oldCuts = new Set<bigint>();
  const removed: StoredExtent[] = [];
  const writer = new ExtentWriter({ start, resyncFrom: writeEnd, isOldCut: (o) => oldCuts.has(o), expect: patch?.bytes.length });

  // The new content from `start`: old bytes before the patch, the patch, old bytes after it
  // (holes as zeros), then zeros up to newSize.
  let pos = start;
  const oldEnd = oldSize < newSize ? oldSize : newSize;
  const emitOld = async (x: StoredExtent, from: bigint, to: bigint): Promise<void> => {
    if (from >= to) return;
    const bytes = await extentBytes(blobs, x.extent);
    writer.push(bytes.subarray(Number(from - x.start), Number(to - x.start)));
  };
  const feedUntil = async (limit: bigint, x: StoredExtent | undefined): Promise<void> => {
    // Old content in [pos, limit), given the next old extent x (or none).
    while (pos < limit && !writer.stopped) {
      if (x === undefined || x.start >= limit) {
        writer.pushZeros(limit - pos);
        pos = limit;
        return;
      }
      if (x.start > pos) {
        writer.pushZeros(x.start - pos);
        pos = x.start;
        continue;
      }
      const to = x.end < limit ? x.end : limit;
      await emitOld(x, pos, to);
      pos = to;
      return;
    }
  };

  const iter = extentsFrom(txn, info, start)[Symbol.asyncIterator]();
  let next = await iter.next();
  const take = (): StoredExtent | undefined => (next.done ? undefined : next.value);
  const advance = async (): Promise<void> => {
    const x = take();
    if (x !== undefined) {
      removed.push(x);
      oldCuts.add(x.end);
    }
    next = await iter.next();
  };

  // 1. Old content before the change.
  const before = patch ? writeStart : oldEnd;
  while (pos < before && !writer.stopped) {
    const x = take();
    await feedUntil(before, x);
    if (x !== undefined && x.end <= pos) await advance();
  }
  // 2. The change.
  if (patch) {
    writer.push(patch.bytes);
    pos = writeEnd;
  }
  // 3. Old content after the change, while the writer has not fallen back in step.
  const after = patch ? (oldSize < newSize ? oldSize : newSize) : oldEnd;
  while (!writer.stopped) {
    let x = take();
    while (x !== undefined && x.end <= pos) {
      await advance();
      x = take();
    }
    if (pos >= after) break;
    await feedUntil(after, x);
  }
  // 4. Zeros up to the new size, then the end of the file.
  if (!writer.stopped && pos < newSize) {
    writer.pushZeros(newSize - pos);
    pos = newSize;
  }
  writer.finish();
  await writer.settle();

  // Old extents overlapping the rewritten span [start, stop) are replaced; with no resync all
  // remaining ones go.
  const stop = writer.stoppedAt;
  let x = take();
  while (x !== undefined && (stop === undefined || x.end <= stop)) {
    await advance();
    x = take();
  }
  await iter.return?.(undefined);
  let allocatedDelta = writer.stored;
  for (const r of removed) {
    if (r.end <= start) continue;
    if (stop !== undefined && r.end > stop) continue;
    txn.del(r.key);
    allocatedDelta -= BigInt(extentLength(r.extent));
  }
  for (const e of writer.extents) txn.put(extentKey(info, e.end), encodeExtent(e.extent));
  if (writer.blobs.length > 0) await blobs.store.putHashed(writer.blobs);
  return { allocatedDelta };
}

/** Slabs (8 MiB each) a streamed write lets the hasher hold before it waits for digests. */
const MAX_SLABS_IN_FLIGHT = 8;

/** Writes the whole content of a file that has no extents yet, from a stream of pieces. */
/**
 * The extents of a whole content shorter than CDC_MIN_SIZE, as ExtentWriter would cut them: each
 * run of non-zero 4 KiB blocks is a segment too short for a cut, so it is one chunk (inline up to
 * INLINE_MAX); zero blocks are holes. Returns the bytes stored.
 */
async function writeSmall(txn: Txn, blobs: BlobCache, info: Uint8Array, bytes: Uint8Array): Promise<bigint> {
  const fresh: HashedBlob[] = [];
  let stored = 0;
  let at = 0;
  while (at < bytes.length) {
    let end = Math.min(at + BLOCK_SIZE, bytes.length);
    if (isZero(bytes, at, end)) {
      at = end;
      continue;
    }
    while (end < bytes.length) {
      const next = Math.min(end + BLOCK_SIZE, bytes.length);
      if (isZero(bytes, end, next)) break;
      end = next;
    }
    if (end - at <= INLINE_MAX) {
      // Encoding the extent copies the bytes.
      txn.put(extentKey(info, BigInt(end)), encodeExtent({ inline: bytes.subarray(at, end) }));
    } else {
      // A copy: callers may reuse their buffers, and stores keep what they are given.
      const chunk = chunkCopy(bytes, at, end);
      const hash = sha256(chunk);
      fresh.push({ hash, bytes: chunk });
      txn.put(extentKey(info, BigInt(end)), encodeExtent({ ref: hash, offset: 0, length: chunk.length }));
    }
    stored += end - at;
    at = end;
  }
  if (fresh.length > 0) await blobs.store.putHashed(fresh);
  return BigInt(stored);
}

export async function writeNew(
  txn: Txn,
  blobs: BlobCache,
  info: Uint8Array,
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<{ size: bigint; allocated: bigint }> {
  const writer = new ExtentWriter({ start: 0n });
  let size = 0n;
  for await (const piece of content) {
    signal?.throwIfAborted();
    writer.push(piece);
    size += BigInt(piece.length);
    // Flush blobs as they come so a large stream is not held in memory.
    if (writer.slabsInFlight > MAX_SLABS_IN_FLIGHT) await writer.settle(MAX_SLABS_IN_FLIGHT / 2);
    if (writer.blobs.length >= 64) await blobs.store.putHashed(writer.blobs.splice(0));
  }
  writer.finish();
  await writer.settle();
  for (const e of writer.extents) txn.put(extentKey(info, e.end), encodeExtent(e.extent));
  if (writer.blobs.length > 0) await blobs.store.putHashed(writer.blobs);
  return { size, allocated: writer.stored };
}
