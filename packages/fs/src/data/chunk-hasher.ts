// The seam for hashing file chunks off the calling thread. Large writes copy their chunks into
// slabs (one ArrayBuffer each); with a ChunkHasher installed a full slab is handed to it and its
// chunks' digests come back later, while the writer goes on chunking the next bytes. Without
// one (browsers, or where no worker can start) every chunk is hashed at once on this thread.
// The digests are the same either way: SHA-256 of each chunk, exactly as @cafs/kv's sha256.
//
// Under Node the `node` export condition (src/node.ts) installs a worker-thread hasher
// (data/worker-hasher.ts); nothing here depends on Node.

/** A slab handed over for hashing, and what comes back. */
export interface SlabJob {
  /**
   * The slab; the hasher may transfer it away and hands it (or its moved self) back. A
   * SharedArrayBuffer (as a hasher's allocateSlab may give) is shared with the hasher, not moved.
   */
  buffer: ArrayBufferLike;
  /** Chunk i is bytes [spans[2i], spans[2i] + spans[2i+1]) of the buffer. */
  spans: Uint32Array;
}

export interface SlabDigests {
  /** The slab's bytes, unchanged (after a transfer, a new ArrayBuffer object). */
  buffer: ArrayBufferLike;
  /** 32 bytes per chunk, in span order. */
  digests: Uint8Array;
}

export interface ChunkHasher {
  /**
   * Hashes the chunks of a slab. The caller must not touch `job.buffer` until the promise
   * settles (it may be detached meanwhile); it then uses the buffer the answer hands back.
   */
  hashSlab(job: SlabJob): Promise<SlabDigests>;
  /**
   * A fresh slab of `size` zero bytes, as `new ArrayBuffer(size)` gives (it may be a
   * SharedArrayBuffer). The writer fills a prefix and leaves the rest as it is: stored chunks
   * are views into the slab, so its tail must not carry stale memory, and untouched pages cost
   * no memory. Once handed to hashSlab, nobody writes to a slab again.
   */
  allocateSlab?(size: number): ArrayBufferLike;
}

let current: ChunkHasher | undefined;

/** Installs a hasher for large writes (undefined: hash on the calling thread). Returns the previous one. */
export function setChunkHasher(hasher: ChunkHasher | undefined): ChunkHasher | undefined {
  const previous = current;
  current = hasher;
  return previous;
}

/** The hasher writes use now, if any. */
export function getChunkHasher(): ChunkHasher | undefined {
  return current;
}
