// Turns a stream of file content into extents, canonically: the extents of a file depend only
// on its bytes. The content is cut into 4 KiB blocks at absolute offsets; a block of zeros is a
// hole (not stored); each run of other blocks (a data segment) is cut into chunks by
// content-defined chunking that starts afresh at the segment's start.
import { sha256, type Hash } from '@cafs/kv';
import { CdcChunker } from './cdc.js';
import { INLINE_MAX, type Extent } from '../extent.js';

export const BLOCK_SIZE = 4096;
/** Chunk copies are carved from slabs of this size. */
const SLAB_SIZE = 8 * 1024 * 1024;
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
}

export function isZero(bytes: Uint8Array, start: number, end: number): boolean {
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

export class ExtentWriter {
  readonly extents: NewExtent[] = [];
  readonly blobs: NewBlob[] = [];
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

  constructor(options: ExtentWriterOptions) {
    this.pos = options.start;
    this.segmentStart = options.start;
    this.chunkStart = options.start;
    this.forceData = options.start % BLOCK !== 0n;
    this.resyncFrom = options.resyncFrom;
    this.isOldCut = options.isOldCut;
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

  /** Data bytes at `pos`, fed to the chunker. */
  private data(bytes: Uint8Array): void {
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

  private slab: Uint8Array = new Uint8Array(0);
  private slabUsed = 0;

  private allocate(length: number): Uint8Array {
    // Small files get exact allocations; slabs pay off only for large writes.
    if (length > SLAB_SIZE / 4 || this.stored < SLAB_SIZE) return new Uint8Array(length);
    if (this.slabUsed + length > this.slab.length) {
      this.slab = new Uint8Array(SLAB_SIZE);
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    this.slabUsed += length;
    return out;
  }

  private emitChunk(end: bigint): void {
    const length = Number(end - this.chunkStart);
    const pieces = this.chunkPieces;
    this.chunkPieces = [];
    this.chunkStart = end;
    if (length === 0) return;
    // A copy: callers may reuse their buffers, and stores keep what they are given. Chunks are
    // carved from large slabs: fresh allocations per chunk cost more than the copy itself.
    const bytes = this.allocate(length);
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    this.stored += BigInt(length);
    if (length <= INLINE_MAX) {
      this.extents.push({ end, extent: { inline: bytes } });
    } else {
      const hash = sha256(bytes);
      this.blobs.push({ hash, bytes });
      this.extents.push({ end, extent: { ref: hash, offset: 0, length } });
    }
  }
}
