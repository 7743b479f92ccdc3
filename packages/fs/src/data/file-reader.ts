// A file opened for many reads (e.g. by a FUSE handle): the path is resolved once and the extent
// entries are kept in a window, so each read is a binary search, blob fetches and copies into
// the caller's buffer.
import { decodeExtent, extentLength, type Extent } from '../extent.js';
import { extentEnd, extentKey, extentRange } from '../keys.js';
import type { KvReader } from '../kv-view.js';
import type { BlobCache } from './file-data.js';

interface Span {
  start: bigint;
  end: bigint;
  extent: Extent;
}

export class FileReader {
  /** Extent entries loaded at once when a read falls outside the window (a knob for tests). */
  static windowEntries = 256;

  /** Extents covering [winStart, winEnd), in order; the gaps between them are holes. */
  private spans: Span[] = [];
  private winStart = 0n;
  private winEnd = 0n;

  constructor(
    private readonly kv: KvReader,
    private readonly blobs: BlobCache,
    private readonly key: Uint8Array,
    /** The file's size when opened. */
    readonly size: bigint,
  ) {}

  /**
   * Copies the file's bytes from `offset` into `target` (as many as fit, fewer at the end of the
   * file); holes read as zeros. Returns the number of bytes copied.
   */
  async readInto(target: Uint8Array, offset: number | bigint): Promise<number> {
    const from = BigInt(offset);
    if (from >= this.size || target.length === 0) return 0;
    const to = from + BigInt(target.length) < this.size ? from + BigInt(target.length) : this.size;
    const n = Number(to - from);
    let at = from;
    while (at < to) {
      if (at < this.winStart || at >= this.winEnd) await this.load(at, to);
      let i = this.find(at);
      // Holes up to the next extent (or the window's end) are zeros.
      while (at < to && at < this.winEnd) {
        const s = this.spans[i];
        const holeEnd = s === undefined ? this.winEnd : s.start;
        if (at < holeEnd) {
          const stop = holeEnd < to ? holeEnd : to;
          target.fill(0, Number(at - from), Number(stop - from));
          at = stop;
          continue;
        }
        const e = s!.extent;
        const bytes = e.inline ?? (await this.blobs.get(e.ref)).subarray(e.offset, e.offset + e.length);
        const stop = s!.end < to ? s!.end : to;
        target.set(bytes.subarray(Number(at - s!.start), Number(stop - s!.start)), Number(at - from));
        at = stop;
        i++;
      }
    }
    return n;
  }

  /** Index of the first span ending after `at`. */
  private find(at: bigint): number {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.spans[mid]!.end <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Loads the extents from `at` on: at least up to `until` (or the file's end), at least WINDOW of them. */
  private async load(at: bigint, until: bigint): Promise<void> {
    const spans: Span[] = [];
    let end = this.size;
    for await (const entry of this.kv.entries({ gt: extentKey(this.key, at), lt: extentRange(this.key).lt })) {
      const extent = decodeExtent(entry.value);
      const xEnd = extentEnd(entry.key);
      spans.push({ start: xEnd - BigInt(extentLength(extent)), end: xEnd, extent });
      if (spans.length >= FileReader.windowEntries && xEnd >= until) {
        end = xEnd;
        break;
      }
    }
    this.spans = spans;
    this.winStart = at;
    this.winEnd = end;
  }
}
