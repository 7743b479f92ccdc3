// Which bytes a Range header asks for, and when to ignore it: range-parser, then the limits
// well-kept servers apply against amplification (CVE-2011-3192 and its kin).
import parseRange from 'range-parser';

/** More ranges than this (after merging) get the whole file instead. */
export const MAX_RANGES = 16;

export interface ByteSpan {
  start: number;
  /** Inclusive, as in Content-Range. */
  end: number;
}

export type RangePlan = { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: ByteSpan[] };

/**
 * What to send for `header` on a file of `size` bytes. Malformed headers and other units are
 * ignored (the whole file, 200), as RFC 9110 asks. So are requests for more than MAX_RANGES
 * ranges, or for more bytes in total than the file holds: answering those would multiply the
 * response. Overlapping and adjacent ranges are merged, so a response never exceeds the file
 * by more than its multipart framing.
 */
export function planRanges(header: string, size: number): RangePlan {
  if (header.length > 8192) return { kind: 'whole' };
  const raw = parseRange(size, header);
  if (raw === -2) return { kind: 'whole' };
  if (raw === -1) return { kind: 'unsatisfiable' };
  if (raw.type !== 'bytes') return { kind: 'whole' };
  let total = 0;
  for (const r of raw) total += r.end - r.start + 1;
  if (raw.length > 4 * MAX_RANGES || total > size) return { kind: 'whole' };
  const merged = parseRange(size, header, { combine: true });
  if (merged === -1 || merged === -2 || merged.length > MAX_RANGES) return { kind: 'whole' };
  return { kind: 'ranges', ranges: merged.map((r) => ({ start: r.start, end: r.end })) };
}
