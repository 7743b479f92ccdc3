import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CDC_AVG_SIZE,
  CDC_MASK_L,
  CDC_MASK_S,
  CDC_MAX_SIZE,
  CDC_MIN_SIZE,
  CDC_WASM_AVAILABLE,
  CdcChunker,
  GEAR,
  cdcCuts,
  type CdcEngine,
} from '../src/data/cdc.js';
import { xorshift32Bytes } from './helpers.js';

const KIB = 1024;
const MIB = 1024 * 1024;
const ENGINES: CdcEngine[] = CDC_WASM_AVAILABLE ? ['wasm', 'js'] : ['js'];


/** Fast deterministic pseudo-random bytes for the big tests (AES-128-CTR keystream). */
function aesBytes(n: number, seed: number): Uint8Array {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = new Uint8Array(n);
  const zeros = new Uint8Array(MIB);
  for (let p = 0; p < n; p += MIB) out.set(cipher.update(zeros.subarray(0, Math.min(MIB, n - p))), p);
  return out;
}

type Kind = 'random' | 'zeros' | 'binary' | 'periodic';

/** Test data of several entropies: random, all zeros, only 0/1 bytes, a short random period. */
function makeData(kind: Kind, n: number, seed: number): Uint8Array {
  const r = xorshift32Bytes(n, seed);
  switch (kind) {
    case 'random':
      return r;
    case 'zeros':
      return new Uint8Array(n);
    case 'binary':
      return r.map((b) => b & 1);
    case 'periodic': {
      const period = 1 + (seed % 300);
      return r.map((_, i) => r[i % period]!);
    }
  }
}

const kindArb = fc.constantFrom<Kind>('random', 'random', 'random', 'zeros', 'binary', 'periodic');

function sizesOf(cuts: number[]): number[] {
  return cuts.map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!));
}

/** Cuts from pushing `data` in pieces whose sizes cycle through `pieces` (0 allowed). */
function pushInPieces(data: Uint8Array, pieces: number[], engine?: CdcEngine): number[] {
  const chunker = new CdcChunker({ engine });
  const cuts: number[] = [];
  let p = 0;
  let k = 0;
  let zeroRun = 0;
  const problems: string[] = []; // checked once at the end: expect() per push is too slow
  while (p < data.length) {
    let size = pieces.length === 0 ? data.length : pieces[k++ % pieces.length]!;
    if (size === 0 && ++zeroRun > pieces.length) size = 1; // all-zero lists must still progress
    if (size > 0) zeroRun = 0;
    const piece = data.subarray(p, Math.min(data.length, p + size));
    const got = chunker.push(piece);
    for (const c of got) if (c <= p || c > p + piece.length) problems.push(`cut ${c} outside piece at ${p}`);
    cuts.push(...got);
    p += piece.length;
    // `fresh` is true exactly when the bytes so far end at a cut.
    if (chunker.fresh !== (p === 0 || cuts[cuts.length - 1] === p)) problems.push(`fresh wrong at ${p}`);
    if (chunker.offset !== p) problems.push(`offset ${chunker.offset} != ${p}`);
  }
  expect(problems).toEqual([]);
  const last = chunker.finish();
  if (last !== undefined) cuts.push(last);
  expect(chunker.fresh).toBe(true);
  return cuts;
}

function chunkHashes(data: Uint8Array, cuts: number[]): string[] {
  let start = 0;
  return cuts.map((c) => {
    const h = createHash('sha256').update(data.subarray(start, c)).digest('hex');
    start = c;
    return h;
  });
}

const doc = readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');

const XORSHIFT_1MIB_CUTS = [
  88486, 190547, 294076, 348679, 470816, 539516, 606095, 686264, 766066, 833098, 925287, 1000098, 1048576,
];
const ZEROS_1MIB_CUTS = [262144, 524288, 786432, 1048576];

describe('CDC parameters and gear table', () => {
  it('has the documented sizes and masks', () => {
    expect([CDC_MIN_SIZE, CDC_AVG_SIZE, CDC_MAX_SIZE]).toEqual([32 * KIB, 64 * KIB, 256 * KIB]);
    expect(CDC_MASK_S).toBe(0xffffc000);
    expect(CDC_MASK_L).toBe(0xfffc0000);
    const ones = (m: number) => m.toString(2).replace(/0/g, '').length;
    expect([ones(CDC_MASK_S), ones(CDC_MASK_L)]).toEqual([18, 14]); // log2(AVG) +- 2
    for (const m of [CDC_MASK_S, CDC_MASK_L]) expect((m | (m - 1)) >>> 0).toBe(0xffffffff); // high bits only
  });

  it('GEAR[i] is the first 4 bytes (big-endian) of SHA-256("cafs-gear-" + i)', () => {
    expect(GEAR).toBeInstanceOf(Uint32Array);
    expect(GEAR.length).toBe(256);
    for (let i = 0; i < 256; i++) {
      const digest = createHash('sha256').update(`cafs-gear-${i}`, 'ascii').digest();
      expect(GEAR[i]).toBe(digest.readUInt32BE(0));
    }
    const bytes = Buffer.alloc(1024);
    GEAR.forEach((g, i) => bytes.writeUInt32BE(g, 4 * i));
    const tableHash = createHash('sha256').update(bytes).digest('hex');
    expect(tableHash).toBe('9684f805e10840f71216beda550d6498b78a0f397d8e5326c361357285df6cce');
    expect(doc).toContain(tableHash);
    expect(doc).toContain(`\`GEAR[0] = 0x${GEAR[0]!.toString(16)}\``);
  });

  it('uses WebAssembly under Node by default', () => {
    expect(CDC_WASM_AVAILABLE).toBe(true);
    expect(new CdcChunker().engine).toBe('wasm');
    expect(new CdcChunker({ engine: 'js' }).engine).toBe('js');
  });
});

describe('test vectors (docs/format.md)', () => {
  it('the xorshift32 input is as documented', () => {
    const data = xorshift32Bytes(MIB, 1);
    expect(Buffer.from(data.subarray(0, 8)).toString('hex')).toBe('2120040001060804');
    expect(doc).toContain('`21 20 04 00 01 06 08 04`');
  });

  for (const engine of ENGINES) {
    it(`pinned cuts [${engine}]`, () => {
      expect(cdcCuts(xorshift32Bytes(MIB, 1), { engine })).toEqual(XORSHIFT_1MIB_CUTS);
      expect(cdcCuts(new Uint8Array(MIB), { engine })).toEqual(ZEROS_1MIB_CUTS);
    });
  }

  it('the doc lists the same cuts', () => {
    expect(doc).toContain(JSON.stringify(XORSHIFT_1MIB_CUTS));
    expect(doc).toContain(JSON.stringify(ZEROS_1MIB_CUTS));
    // the xorshift vector covers a strict-mask cut (< AVG) and loose-mask cuts (> AVG)
    const sizes = sizesOf(XORSHIFT_1MIB_CUTS).slice(0, -1);
    expect(sizes.some((s) => s <= CDC_AVG_SIZE)).toBe(true);
    expect(sizes.some((s) => s > CDC_AVG_SIZE && s < CDC_MAX_SIZE)).toBe(true);
  });
});

describe('CdcChunker', () => {
  it('handles empty and tiny streams', () => {
    expect(cdcCuts(new Uint8Array(0))).toEqual([]);
    expect(cdcCuts(new Uint8Array(1))).toEqual([1]);
    expect(cdcCuts(new Uint8Array(CDC_MIN_SIZE))).toEqual([CDC_MIN_SIZE]);
    const c = new CdcChunker();
    expect(c.fresh).toBe(true);
    expect(c.push(new Uint8Array(0))).toEqual([]);
    expect(c.finish()).toBeUndefined();
    expect(c.push(new Uint8Array(10))).toEqual([]);
    expect(c.fresh).toBe(false);
    expect(c.finish()).toBe(10);
    expect(c.fresh).toBe(true);
    expect(c.finish()).toBeUndefined();
  });

  it('continues offsets after finish() and starts over after reset()', () => {
    const data = xorshift32Bytes(MIB, 1);
    const c = new CdcChunker();
    c.push(new Uint8Array(100));
    expect(c.finish()).toBe(100);
    expect(c.push(data)).toEqual(XORSHIFT_1MIB_CUTS.slice(0, -1).map((x) => x + 100));
    c.reset();
    expect(c.fresh).toBe(true);
    expect(c.offset).toBe(0);
    expect(c.push(data)).toEqual(XORSHIFT_1MIB_CUTS.slice(0, -1));
    expect(c.finish()).toBe(MIB);
  });

  it('accepts Buffers and subarrays at odd offsets', () => {
    const data = xorshift32Bytes(MIB + 3, 1);
    const view = data.subarray(3);
    const expected = cdcCuts(view.slice(), { engine: 'js' });
    for (const engine of ENGINES) {
      expect(cdcCuts(view, { engine })).toEqual(expected);
      expect(cdcCuts(Buffer.from(view), { engine })).toEqual(expected);
    }
  });

  it('restarts the hash at 0 after MIN bytes past each cut', () => {
    // From h = 0 the bytes 1, 105, 90 give h = 4*GEAR[1] + 2*GEAR[105] + GEAR[90] mod 2^32 = 16206,
    // whose top 18 bits are zero: a chunk of exactly MIN+3 bytes. With a hash carried over from
    // the previous chunk there would (almost surely) be no cut there.
    const g = (i: number) => GEAR[i]!;
    const h = (4 * g(1) + 2 * g(105) + g(90)) % 2 ** 32;
    expect(h).toBe(16206);
    expect((h & CDC_MASK_S) >>> 0).toBe(0);
    expect(((2 * g(1) + g(105)) % 2 ** 32 & CDC_MASK_S) >>> 0).not.toBe(0);
    const first = xorshift32Bytes(MIB, 1).subarray(0, XORSHIFT_1MIB_CUTS[0]); // ends at its only cut
    const data = new Uint8Array(first.length + CDC_MIN_SIZE + 3 + 200 * KIB);
    data.set(first, 0);
    data.set(xorshift32Bytes(CDC_MIN_SIZE, 9), first.length);
    data.set([1, 105, 90], first.length + CDC_MIN_SIZE);
    data.set(xorshift32Bytes(200 * KIB, 10), first.length + CDC_MIN_SIZE + 3);
    for (const engine of ENGINES) {
      const cuts = cdcCuts(data, { engine });
      expect(cuts.slice(0, 2)).toEqual([first.length, first.length + CDC_MIN_SIZE + 3]);
      expect(cdcCuts(data.subarray(first.length), { engine })[0]).toBe(CDC_MIN_SIZE + 3);
    }
    // The same after a forced cut: zeros never cut before MAX.
    const zeros = new Uint8Array(CDC_MAX_SIZE + CDC_MIN_SIZE + 3 + 100 * KIB);
    zeros.set([1, 105, 90], CDC_MAX_SIZE + CDC_MIN_SIZE);
    for (const engine of ENGINES) {
      expect(cdcCuts(zeros, { engine }).slice(0, 2)).toEqual([CDC_MAX_SIZE, CDC_MAX_SIZE + CDC_MIN_SIZE + 3]);
    }
  });

  it('rejects unknown engines', () => {
    expect(() => new CdcChunker({ engine: 'simd' as CdcEngine })).toThrow(/unknown engine/);
  });
});

describe('CDC properties', () => {
  const pieceArb = fc.array(
    fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 80 * KIB }), fc.integer({ min: 0, max: 600 * KIB })),
    { maxLength: 12 },
  );

  it('pieces of any sizes give the same cuts as one push, with either engine', () => {
    fc.assert(
      fc.property(kindArb, fc.integer({ min: 0, max: 1300 * KIB }), fc.nat(), pieceArb, (kind, n, seed, pieces) => {
        const data = makeData(kind, n, seed);
        const whole = cdcCuts(data, { engine: 'js' });
        for (const engine of ENGINES) {
          expect(cdcCuts(data, { engine })).toEqual(whole);
          expect(pushInPieces(data, pieces, engine)).toEqual(whole);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('one-byte pushes across cut points agree', () => {
    const data = xorshift32Bytes(400 * KIB, 7);
    const whole = cdcCuts(data);
    const ones = [...Array(CDC_MIN_SIZE - 5).fill(1), 50_000, ...Array(500).fill(1), 1000];
    for (const engine of ENGINES) expect(pushInPieces(data, ones, engine)).toEqual(whole);
  });

  it('every chunk but the last is MIN+1..MAX bytes; the last is 1..MAX', () => {
    fc.assert(
      fc.property(kindArb, fc.integer({ min: 1, max: 2 * MIB }), fc.nat(), (kind, n, seed) => {
        const cuts = cdcCuts(makeData(kind, n, seed));
        expect(cuts[cuts.length - 1]).toBe(n);
        const sizes = sizesOf(cuts);
        for (const s of sizes.slice(0, -1)) {
          expect(s).toBeGreaterThan(CDC_MIN_SIZE);
          expect(s).toBeLessThanOrEqual(CDC_MAX_SIZE);
        }
        expect(sizes[sizes.length - 1]).toBeGreaterThan(0);
        expect(sizes[sizes.length - 1]).toBeLessThanOrEqual(CDC_MAX_SIZE);
      }),
      { numRuns: 40 },
    );
  });

  it('cuts after any cut depend only on the bytes after it', () => {
    fc.assert(
      fc.property(kindArb, fc.integer({ min: 1, max: 2 * MIB }), fc.nat(), fc.nat(), (kind, n, seed, pick) => {
        const data = makeData(kind, n, seed);
        const cuts = cdcCuts(data);
        const at = cuts[pick % cuts.length]!;
        const rest = cdcCuts(data.subarray(at)).map((c) => c + at);
        expect(rest).toEqual(cuts.filter((c) => c > at));
      }),
      { numRuns: 40 },
    );
  });

  it('two different prefixes resync on a common suffix and agree from the first common cut', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 400 * KIB }), fc.integer({ min: 0, max: 400 * KIB }), (seed, nx, ny) => {
        const x = xorshift32Bytes(nx, seed + 1);
        const y = xorshift32Bytes(ny, seed + 2);
        const z = xorshift32Bytes(3 * MIB, seed + 3);
        const a = new CdcChunker();
        const b = new CdcChunker();
        a.push(x);
        b.push(y);
        // Cuts expressed as offsets into z.
        const ca = a.push(z).map((c) => c - nx).filter((c) => c > 0);
        const cb = b.push(z).map((c) => c - ny).filter((c) => c > 0);
        const common = ca.find((c) => cb.includes(c));
        expect(common).toBeDefined();
        expect(common!).toBeLessThan(MIB); // resync within a few chunks
        expect(ca.filter((c) => c >= common!)).toEqual(cb.filter((c) => c >= common!));
      }),
      // How soon two streams resync is chance: in a count, 1 case in 1,500 took over 1 MiB, so
      // random seeds failed this bound now and then (and shrank for seconds). A fixed seed.
      { numRuns: 25, seed: 0x5eed },
    );
  });
});

describe('CDC statistics and dedup', () => {
  it('average chunk on 64 MiB of pseudo-random data is within 50-80 KiB', () => {
    const data = aesBytes(64 * MIB, 1);
    const sizes = sizesOf(cdcCuts(data)).slice(0, -1);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThanOrEqual(50 * KIB);
    expect(mean).toBeLessThanOrEqual(80 * KIB);
    expect(Math.min(...sizes)).toBeGreaterThan(CDC_MIN_SIZE);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CDC_MAX_SIZE);
    // normalization: most chunks end within AVG/2 of AVG..AVG+64 KiB
    const near = sizes.filter((s) => s > CDC_AVG_SIZE && s <= CDC_AVG_SIZE + 64 * KIB).length;
    expect(near / sizes.length).toBeGreaterThan(0.8);
  });

  it('inserting 1 byte into 16 MiB re-stores at most 2 chunks', () => {
    const base = aesBytes(16 * MIB, 2);
    const baseHashes = new Set(chunkHashes(base, cdcCuts(base)));
    const positions = [base.length >> 1, 12345, 5 * MIB + 777, 11 * MIB + 31, base.length - 100];
    for (const pos of positions) {
      const edited = new Uint8Array(base.length + 1);
      edited.set(base.subarray(0, pos), 0);
      edited[pos] = 0x5a;
      edited.set(base.subarray(pos), pos + 1);
      const hashes = chunkHashes(edited, cdcCuts(edited));
      const fresh = hashes.filter((h) => !baseHashes.has(h));
      expect(fresh.length, `insert at ${pos}`).toBeGreaterThanOrEqual(1);
      expect(fresh.length, `insert at ${pos}`).toBeLessThanOrEqual(2);
    }
  });
});
