// Turns a stream of file content into extents, canonically: the extents of a file depend only
// on its bytes. The content is cut into 4 KiB blocks at absolute offsets; a block of zeros is a
// hole (not stored); each run of other blocks (a data segment) is cut into chunks by
// content-defined chunking that starts afresh at the segment's start.
import { sha256, type Hash } from '@cafs/kv';
import { CdcChunker } from './cdc.js';
import { getChunkHasher, type ChunkHasher, type SlabDigests } from './chunk-hasher.js';
import { INLINE_MAX, type Extent } from '../extent.js';

export const BLOCK_SIZE = 4096;
/** Chunk copies are carved from slabs of this size. */
const SLAB_SIZE = 8 * 1024 * 1024;
/**
 * Data runs are fed to the chunker this much at a time, so that chunks are copied out (and
 * their slabs handed to the hasher) while the scan of the following bytes goes on.
 */
const SCAN_PIECE = 1024 * 1024;
const BLOCK = BigInt(BLOCK_SIZE);

export interface NewExtent {
  /** Absolute end offset of the extent in the file. */
  end: bigint;
  extent: Extent;
}

export interface NewBlob {
  hash: Hash;
  bytes: Uint8Array;
}

export interface ExtentWriterOptions {
  /** Where the stream starts: a block start, or a chunk start inside a data segment. */
  start: bigint;
  /**
   * Rewrites stop as soon as the new chunking is back in step with the old one: at a cut or a
   * hole at or after this offset, where `isOldCut` says the old file had a cut too.
   */
  resyncFrom?: bigint | undefined;
  isOldCut?: ((offset: bigint) => boolean) | undefined;
  /** Who hashes the chunks of large writes (default: the installed one, see chunk-hasher.ts; null: this thread). */
  hasher?: ChunkHasher | null | undefined;
  /**
   * Bytes the caller is about to push, when known: from two slabs' worth on, chunks go into
   * slabs (and to the hasher) from the first byte instead of after the first slab.
   */
  expect?: number | undefined;
}

export function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  // Data blocks mostly fail at once: no word view is made for them.
  if (start < end && (bytes[start] !== 0 || bytes[end - 1] !== 0)) return false;
  let i = start;
  while (i < end && ((bytes.byteOffset + i) & 3) !== 0) if (bytes[i++] !== 0) return false;
  const words = (end - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let j = 0; j < words; j++) if (w[j] !== 0) return false;
    i += words << 2;
  }
  while (i < end) if (bytes[i++] !== 0) return false;
  return true;
}

/**
 * Cuts a stream into extents. `extents` and `blobs` fill as chunks are emitted; chunks hashed
 * by a ChunkHasher join them (in no particular order) once their slab comes back, so call
 * `settle()` after `finish()` before using them.
 */
export class ExtentWriter {
  readonly extents: NewExtent[] = [];
  readonly blobs: NewBlob[] = [];
  private readonly largeFromStart: boolean;
  /** Bytes in the extents written. */
  stored = 0n;
  /** Where the rewrite fell back in step with the old extents (undefined: it never did). */
  stoppedAt: bigint | undefined;

  /** Offset of the first byte not yet taken into a block or chunk. */
  private pos: bigint;
  private readonly cdc = new CdcChunker();
  /** Offset where the current data segment (and CDC stream) began. */
  private segmentStart: bigint;
  private chunkStart: bigint;
  private chunkPieces: Uint8Array[] = [];
  /** The incomplete current block. */
  private blockPieces: Uint8Array[] = [];
  private blockLength = 0;
  /** The block holding `start` began before the stream: it is data whatever its bytes. */
  private forceData: boolean;
  private readonly resyncFrom: bigint | undefined;
  private readonly isOldCut: ((offset: bigint) => boolean) | undefined;
  /** Hashes the chunks of full slabs off this thread (undefined: each chunk is hashed at once). */
  private readonly hasher: ChunkHasher | undefined;

  constructor(options: ExtentWriterOptions) {
    this.hasher = options.hasher === undefined ? getChunkHasher() : options.hasher === null ? undefined : options.hasher;
    this.pos = options.start;
    this.segmentStart = options.start;
    this.chunkStart = options.start;
    this.forceData = options.start % BLOCK !== 0n;
    this.resyncFrom = options.resyncFrom;
    this.isOldCut = options.isOldCut;
    this.largeFromStart = (options.expect ?? 0) >= 2 * SLAB_SIZE;
  }

  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  /** Offset of the next byte to be pushed. */
  get position(): bigint {
    return this.pos + BigInt(this.blockLength);
  }

  /** Appends content bytes. */
  push(bytes: Uint8Array): void {
    // A plain view: subarray() of a Node Buffer costs several times that of a Uint8Array.
    if (Object.getPrototypeOf(bytes) !== Uint8Array.prototype) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    let off = 0;
    while (off < bytes.length && !this.stopped) {
      if (this.blockLength === 0 && !this.forceData && this.pos % BLOCK === 0n && bytes.length - off >= BLOCK_SIZE) {
        // Whole blocks straight from the input: a run of data blocks goes to CDC in one piece.
        let end = off;
        while (bytes.length - end >= BLOCK_SIZE && !isZero(bytes, end, end + BLOCK_SIZE)) end += BLOCK_SIZE;
        if (end > off) {
          this.data(bytes.subarray(off, end));
          off = end;
        } else {
          this.hole(1n);
          off += BLOCK_SIZE;
        }
        continue;
      }
      const room = BLOCK_SIZE - Number(this.position % BLOCK);
      const take = Math.min(room, bytes.length - off);
      this.blockPieces.push(bytes.subarray(off, off + take));
      this.blockLength += take;
      off += take;
      if (take === room) this.closeBlock();
    }
  }

  /** Appends `length` zero bytes; whole zero blocks are skipped in O(1). */
  pushZeros(length: bigint): void {
    while (length > 0n && !this.stopped) {
      const inBlock = this.position % BLOCK;
      if (inBlock === 0n && !this.forceData && length >= BLOCK) {
        const blocks = length / BLOCK;
        this.hole(blocks);
        length -= blocks * BLOCK;
        continue;
      }
      const take = length < BLOCK - inBlock ? length : BLOCK - inBlock;
      this.blockPieces.push(new Uint8Array(Number(take)));
      this.blockLength += Number(take);
      length -= take;
      if (this.position % BLOCK === 0n) this.closeBlock();
    }
  }

  /** End of file: the last partial block and chunk are written. */
  finish(): void {
    if (this.stopped) return;
    if (this.blockLength > 0) this.closeBlock();
    if (!this.stopped) this.endSegment();
  }

  private closeBlock(): void {
    const pieces = this.blockPieces;
    const length = this.blockLength;
    this.blockPieces = [];
    this.blockLength = 0;
    let zero = !this.forceData;
    if (zero) for (const p of pieces) if (!isZero(p, 0, p.length)) zero = false;
    this.forceData = false;
    if (zero) {
      // A zero block ends the segment; a partial one at the end of the file is a hole too.
      this.endSegment();
      if (this.resyncFrom !== undefined && this.pos >= this.resyncFrom) {
        this.stoppedAt = this.pos;
        return;
      }
      this.pos += BigInt(length);
      this.segmentStart = this.chunkStart = this.pos;
      return;
    }
    for (const p of pieces) {
      if (this.stopped) return;
      this.data(p);
    }
  }

  private hole(blocks: bigint): void {
    this.endSegment();
    if (this.resyncFrom !== undefined && this.pos >= this.resyncFrom) {
      this.stoppedAt = this.pos;
      return;
    }
    this.pos += blocks * BLOCK;
    this.segmentStart = this.chunkStart = this.pos;
  }

  /** Data bytes at `pos`, fed to the chunker a piece at a time. */
  private data(bytes: Uint8Array): void {
    if (bytes.length <= SCAN_PIECE) return this.dataPiece(bytes);
    for (let off = 0; off < bytes.length && !this.stopped; off += SCAN_PIECE) {
      this.dataPiece(bytes.subarray(off, Math.min(off + SCAN_PIECE, bytes.length)));
    }
  }

  private dataPiece(bytes: Uint8Array): void {
    const at = this.pos;
    const cuts = this.cdc.push(bytes);
    let consumed = 0;
    for (const cut of cuts) {
      const end = this.segmentStart + BigInt(cut);
      const upto = Number(end - at);
      this.chunkPieces.push(bytes.subarray(consumed, upto));
      consumed = upto;
      this.pos = end;
      this.emitChunk(end);
      if (this.resyncFrom !== undefined && end >= this.resyncFrom && this.isOldCut?.(end)) {
        this.stoppedAt = end;
        return;
      }
    }
    if (consumed < bytes.length) this.chunkPieces.push(bytes.subarray(consumed));
    this.pos = at + BigInt(bytes.length);
  }

  private endSegment(): void {
    const cut = this.cdc.finish();
    if (cut !== undefined) this.emitChunk(this.segmentStart + BigInt(cut));
    this.cdc.reset();
  }

  /** Where chunks of large writes are copied; `slabUsed` bytes of it are taken. */
  private slab: Uint8Array = new Uint8Array(0);
  private slabUsed = 0;
  /** Chunks in the current slab waiting for the hasher: end offset, then [offset, length] spans. */
  private slabEnds: bigint[] = [];
  private slabSpans: number[] = [];
  /** Slabs out at the hasher, oldest first. */
  private readonly inflight: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  /** Slabs handed to the hasher whose digests have not been taken in yet. */
  get slabsInFlight(): number {
    return this.inflight.length;
  }

  /**
   * Waits until at most `limit` slabs are out at the hasher (0: all back, after the partly
   * filled one is sent too): `extents` and `blobs` then hold every chunk emitted so far.
   */
  async settle(limit = 0): Promise<void> {
    if (limit === 0) this.sendSlab();
    while (this.inflight.length > limit) await this.inflight.shift();
    if (this.failure !== undefined) throw this.failure.error;
  }

  private newSlab(): void {
    const buffer = this.hasher?.allocateSlab?.(SLAB_SIZE) ?? new ArrayBuffer(SLAB_SIZE);
    this.slab = new Uint8Array(buffer, 0, SLAB_SIZE);
    this.slabUsed = 0;
  }

  /** Hands the current slab's waiting chunks to the hasher; the slab is not used again here. */
  private sendSlab(): void {
    const ends = this.slabEnds;
    if (ends.length === 0) return;
    const hasher = this.hasher!;
    const spans = Uint32Array.from(this.slabSpans);
    const slab = this.slab;
    // Its unused tail stays as allocated: zeros (ChunkHasher.allocateSlab), pages never touched.
    this.slabEnds = [];
    this.slabSpans = [];
    this.slab = new Uint8Array(0);
    this.slabUsed = 0;
    let answer: Promise<SlabDigests>;
    try {
      answer = hasher.hashSlab({ buffer: slab.buffer, spans });
    } catch (error) {
      answer = Promise.reject(error);
    }
    this.inflight.push(
      answer.then(
        ({ buffer, digests }) => {
          for (let i = 0; i < ends.length; i++) {
            const length = spans[2 * i + 1]!;
            const bytes = new Uint8Array(buffer, spans[2 * i]!, length);
            const hash = digests.subarray(32 * i, 32 * i + 32);
            this.blobs.push({ hash, bytes });
            this.extents.push({ end: ends[i]!, extent: { ref: hash, offset: 0, length } });
          }
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      ),
    );
  }

  private emitChunk(end: bigint): void {
    const length = Number(end - this.chunkStart);
    const pieces = this.chunkPieces;
    this.chunkPieces = [];
    this.chunkStart = end;
    if (length === 0) return;
    // A copy: callers may reuse their buffers, and stores keep what they are given. Chunks of
    // large writes are carved from large slabs: fresh allocations per chunk cost more than the
    // copy itself. Small files get exact allocations.
    const big = length > INLINE_MAX && length <= SLAB_SIZE / 4 && (this.largeFromStart || this.stored >= SLAB_SIZE);
    this.stored += BigInt(length);
    let bytes: Uint8Array;
    if (big) {
      if (this.slabUsed + length > this.slab.length) {
        this.sendSlab();
        this.newSlab();
      }
      bytes = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    } else {
      bytes = new Uint8Array(length);
    }
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    if (length <= INLINE_MAX) {
      this.extents.push({ end, extent: { inline: bytes } });
    } else if (big && this.hasher !== undefined) {
      // Hashed later, with the rest of its slab (extents and blobs then come in completion order).
      this.slabEnds.push(end);
      this.slabSpans.push(this.slabUsed, length);
      this.slabUsed += length;
    } else {
      if (big) this.slabUsed += length;
      const hash = sha256(bytes);
      this.blobs.push({ hash, bytes });
      this.extents.push({ end, extent: { ref: hash, offset: 0, length } });
    }
  }
}
