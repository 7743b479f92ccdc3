// planRanges against a simple model: what it sends is always a subset of the file, at most
// MAX_RANGES disjoint pieces, never more bytes than the file holds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RANGES, planRanges } from '../src/http/range.js';

const spec = fc.oneof(
  fc.tuple(fc.nat(2000), fc.nat(2000)).map(([a, b]) => `${a}-${b}`),
  fc.nat(2000).map((a) => `${a}-`),
  fc.nat(2000).map((n) => `-${n}`),
  fc.constantFrom('x', '', '-', '1-2-3', '99999999999999999999-', '0-99999999999999999999'),
);

describe('planRanges', () => {
  it('never asks for more than the file, in at most MAX_RANGES disjoint ranges', () => {
    fc.assert(
      fc.property(fc.nat(1500), fc.array(spec, { minLength: 1, maxLength: 40 }), (size, parts) => {
        const plan = planRanges('bytes=' + parts.join(','), size);
        if (plan.kind !== 'ranges') return;
        expect(plan.ranges.length).toBeGreaterThan(0);
        expect(plan.ranges.length).toBeLessThanOrEqual(MAX_RANGES);
        let total = 0;
        const sorted = [...plan.ranges].sort((x, y) => x.start - y.start);
        for (const [i, r] of sorted.entries()) {
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThan(size);
          expect(r.start).toBeLessThanOrEqual(r.end);
          // Merged: no overlap and no adjacency left.
          if (i > 0) expect(r.start).toBeGreaterThan(sorted[i - 1]!.end + 1);
          total += r.end - r.start + 1;
        }
        expect(total).toBeLessThanOrEqual(size);
      }),
      { numRuns: 2000 },
    );
  });

  it('answers the abuse patterns with the whole file, and the rest as RFC 9110 asks', () => {
    const many = (r: string, n: number): string => 'bytes=' + Array(n).fill(r).join(',');
    expect(planRanges(many('0-999999', 1500), 1_000_000)).toEqual({ kind: 'whole' });
    expect(planRanges(many('0-0', 1000), 1_000_000)).toEqual({ kind: 'whole' });
    expect(planRanges(many('0-0', 3), 1_000_000)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 0 }] });
    expect(planRanges('bytes=' + Array.from({ length: 40 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(','), 1000)).toEqual({ kind: 'whole' });
    expect(planRanges('bytes=0-10,5-20', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 20 }] });
    expect(planRanges('bytes=-5', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 95, end: 99 }] });
    expect(planRanges('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(planRanges('bytes=0-99999999999999999999', 100)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 99 }] });
    expect(planRanges('bytes=99999999999999999999-', 100)).toEqual({ kind: 'unsatisfiable' });
    expect(planRanges('bytes=abc', 100)).toEqual({ kind: 'whole' });
    expect(planRanges('items=0-1', 100)).toEqual({ kind: 'whole' });
    expect(planRanges('bytes=0-1,' + 'x'.repeat(9000), 100)).toEqual({ kind: 'whole' });
  });
});
