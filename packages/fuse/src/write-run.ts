// Consecutive bytes written to one file, gathered before they reach the fs. A run starts in a
// small buffer from a pool and moves into a large slab past SMALL_RUN, so neither a small file
// (one 4 KiB write) nor a long sequential write allocates a fresh buffer per run: a fresh
// ArrayBuffer costs microseconds in a large heap, more than copying 4 KiB.

/** Sequential writes are handed to the fs in runs of at most this many bytes. */
export const RUN_BYTES = 16 << 20;
const SMALL_RUN = 256 << 10;

/**
 * Buffers of SMALL_RUN and RUN_BYTES, reused once the fs has taken a run's bytes (it copies what
 * it keeps). Idle, it holds at most `keep` of each size.
 */
export class SlabPool {
  private readonly free = new Map<number, Uint8Array[]>([
    [SMALL_RUN, []],
    [RUN_BYTES, []],
  ]);
  constructor(private readonly keep = 2) {}

  take(size: typeof SMALL_RUN | typeof RUN_BYTES): Uint8Array {
    return this.free.get(size)!.pop() ?? new Uint8Array(size);
  }

  give(buf: Uint8Array): void {
    const list = this.free.get(buf.length);
    if (list !== undefined && list.length < this.keep) list.push(buf);
  }
}

export class WriteRun {
  private buf: Uint8Array;
  bytes = 0;

  constructor(
    /** File offset of the run's first byte. */
    readonly at: number,
    first: Uint8Array,
    private readonly pool: SlabPool,
  ) {
    this.buf = pool.take(first.length > SMALL_RUN ? RUN_BYTES : SMALL_RUN);
    this.append(first);
  }

  get end(): number {
    return this.at + this.bytes;
  }

  /** Whether `len` more bytes at `at` continue this run within RUN_BYTES. */
  extends(at: number, len: number): boolean {
    return at === this.end && this.bytes + len <= RUN_BYTES;
  }

  /** Copies `data` (e.g. a view of libfuse's buffer) onto the end of the run. */
  append(data: Uint8Array): void {
    const need = this.bytes + data.length;
    if (need > this.buf.length) {
      const grown = this.pool.take(RUN_BYTES);
      grown.set(this.buf.subarray(0, this.bytes));
      this.pool.give(this.buf);
      this.buf = grown;
    }
    this.buf.set(data, this.bytes);
    this.bytes = need;
  }

  /** The gathered bytes (a view: valid until `release`). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.bytes);
  }

  /** The fs has taken the bytes: the buffer goes back to the pool. */
  release(): void {
    this.pool.give(this.buf);
    this.buf = new Uint8Array(0);
  }
}
