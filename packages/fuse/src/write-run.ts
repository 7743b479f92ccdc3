// Consecutive bytes written to one file, gathered before they reach the fs. Small runs grow in
// exact-size buffers; a run past SMALL_RUN moves into a slab from a pool, so a long sequential
// write costs one copy per request and no fresh allocation per run.

/** Sequential writes are handed to the fs in runs of at most this many bytes. */
export const RUN_BYTES = 16 << 20;
const SMALL_RUN = 256 << 10;

/** Slabs of RUN_BYTES, reused once the fs has taken a run's bytes (it copies what it keeps). */
export class SlabPool {
  private readonly free: Uint8Array[] = [];
  constructor(private readonly keep = 2) {}

  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(RUN_BYTES);
  }

  give(slab: Uint8Array): void {
    if (slab.length === RUN_BYTES && this.free.length < this.keep) this.free.push(slab);
  }
}

export class WriteRun {
  private buf: Uint8Array;
  private pooled = false;
  bytes = 0;

  constructor(
    /** File offset of the run's first byte. */
    readonly at: number,
    first: Uint8Array,
    private readonly pool: SlabPool,
  ) {
    this.buf = new Uint8Array(Math.max(first.length, 4096));
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
      const grown = need > SMALL_RUN ? this.pool.take() : new Uint8Array(Math.min(SMALL_RUN, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.bytes));
      this.buf = grown;
      this.pooled = grown.length === RUN_BYTES;
    }
    this.buf.set(data, this.bytes);
    this.bytes = need;
  }

  /** The gathered bytes (a view: valid until `release`). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.bytes);
  }

  /** The fs has taken the bytes: the slab goes back to the pool. */
  release(): void {
    if (this.pooled) this.pool.give(this.buf);
    this.buf = new Uint8Array(0);
    this.pooled = false;
  }
}
