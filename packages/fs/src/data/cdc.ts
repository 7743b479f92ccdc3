// Content-defined chunking (FastCDC-style gear hash with normalized chunking, level 2).
//
// File contents are cut into blobs at positions chosen by the bytes themselves, so identical
// content is cut the same way wherever it appears and an insertion in the middle of a large file
// changes only about one chunk. The rule, byte for byte (docs/fs-cdc-vectors.md has the same
// text and the test vectors):
//
//   GEAR[i]  = first 4 bytes, big-endian, of SHA-256 of the ASCII string "cafs-gear-" + i
//              (i written in decimal, 0..255).
//   A chunk starts at offset s (0, or the previous cut). Its bytes at s .. s+MIN-1 are skipped.
//   Then h = 0 and for each byte b at offset i = s+MIN, s+MIN+1, ...:
//       h = (2*h + GEAR[b]) mod 2^32          (older bytes shift out of the top: h depends on
//                                              the last 32 bytes only)
//       len = i + 1 - s                       (chunk length if we cut after this byte)
//       mask = MASK_S if len <= AVG else MASK_L
//       if (h & mask) == 0: cut after byte i   (chunk = [s, i+1))
//       else if len == MAX: cut after byte i   (forced)
//   The last chunk ends at the end of the stream (it may be shorter than MIN).
//
//   MIN = 32 KiB, AVG = 64 KiB, MAX = 256 KiB
//   MASK_S = 0xFFFFC000 (top 18 bits: p = 2^-18 per byte while len <= AVG, stricter)
//   MASK_L = 0xFFFC0000 (top 14 bits: p = 2^-14 per byte once len > AVG, looser)
//
// The masks test the HIGH bits of h because those depend on the most bytes (bit k of h depends on
// the last k+1 bytes). Measured on random data the mean chunk is ~76 KiB (sd ~20 KiB): ~12% of
// cuts fall between MIN and AVG, most of the rest in the first tens of KiB after AVG.
//
// The decision for a position depends only on the bytes since the previous cut, so two chunkers
// that share a cut point agree on every later cut ("resync"), and the cuts do not depend on how
// the stream is split into push() calls.
//
// Speed: the scan runs in a tiny hand-assembled WebAssembly function (built below, 272 bytes),
// which measured ~1.7x as fast as the plain-JS loop (TurboFan compiles it to 6 x86 instructions a
// byte, without the typed-array bounds checks of JS); a plain-JS scan with identical results
// is the fallback where WebAssembly is missing (and the oracle the tests compare against).
// packages/fs/scripts/cdc-speed.mjs measures both.

import { sha256 } from '@cafs/kv';

/**
 * Bytes after a cut in which no cut is looked for (a chunk is never shorter, except the last).
 * 32 KiB rather than AVG/4: the scan then skips 42% of the bytes instead of 22% (cdcCuts ~1.3x faster),
 * and on random data with random insertions the cost was a mean chunk of 75.6 instead of 73.6 KiB
 * with the same ~1.0 re-stored chunk per insertion (docs/fs-cdc-vectors.md).
 */
export const CDC_MIN_SIZE = 32 * 1024;
/** The normalization point: the strict mask applies up to this chunk length, the loose one after. */
export const CDC_AVG_SIZE = 64 * 1024;
/** Largest chunk: a cut is forced at this length. */
export const CDC_MAX_SIZE = 256 * 1024;
/** Mask used while the chunk length is <= CDC_AVG_SIZE: the top 18 bits of h (cut chance 2^-18). */
export const CDC_MASK_S = 0xffffc000;
/** Mask used once the chunk length is > CDC_AVG_SIZE: the top 14 bits of h (cut chance 2^-14). */
export const CDC_MASK_L = 0xfffc0000;

/** The ASCII prefix of the strings whose SHA-256 gives the gear table. */
export const GEAR_SEED_PREFIX = 'cafs-gear-';

/** GEAR[i] = first 4 bytes (big-endian) of SHA-256(ASCII "cafs-gear-" + decimal i). Read-only. */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const text = GEAR_SEED_PREFIX + String(i);
    const bytes = new Uint8Array(text.length);
    for (let j = 0; j < text.length; j++) bytes[j] = text.charCodeAt(j);
    const d = sha256(bytes);
    table[i] = ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
  }
  return table;
})();

// ---------------------------------------------------------------------------------------------
// Scanners. scan(data, from, to, h, mask) feeds data[from..to) into the gear hash h (int32) and
// returns the offset just past the first byte whose hash has (h & mask) == 0, or -1 when there
// is none, leaving the hash after data[to - 1] in `scanH`.

type Scan = (data: Uint8Array, from: number, to: number, h: number, mask: number) => number;

let scanH = 0;

const GEAR_I32 = new Int32Array(GEAR.buffer, GEAR.byteOffset, 256);

/** Plain-JS scan (fallback and reference). (Unrolling it 4x measured no faster under V8.) */
const jsScan: Scan = (data, from, to, h, mask) => {
  const g = GEAR_I32;
  let i = from;
  for (; i < to; i++) {
    h = ((h << 1) + g[data[i]]) | 0;
    if ((h & mask) === 0) return i + 1;
  }
  scanH = h;
  return -1;
};

// The WebAssembly scanner. Memory (one 64 KiB page): GEAR as little-endian i32 at [0, 1024), the
// bytes being scanned at [1024, 1024 + WASM_SEGMENT). The function
//   scan(p: i32, stop: i32, h: i32, mask: i32) -> i32
// hashes mem[p..stop) exactly like jsScan; it returns the address just past the cut byte, or 0
// (never a valid answer: addresses are >= 1024) with the final hash in exported global 0.
// The main loop does 4 bytes per iteration; a second loop finishes the last 0..3 bytes.

const WASM_DATA = 1024;
const WASM_SEGMENT = 32 * 1024;

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

function assembleScanModule(): Uint8Array {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
  const name = (s: string): number[] => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const I32 = 0x7f;
  // locals: params only
  const P = 0, STOP = 1, H = 2, MASK = 3;
  const get = (l: number) => [0x20, l];
  const set = (l: number) => [0x21, l];
  const tee = (l: number) => [0x22, l];
  const i32const = (n: number) => [0x41, n]; // only small non-negative n < 64 are used
  const ADD = 0x6a, SHL = 0x74, AND = 0x71, EQZ = 0x45, GE_U = 0x4f, GT_U = 0x4b;
  const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], IF = [0x04, 0x40], END = 0x0b;
  const BR = (d: number) => [0x0c, d], BR_IF = (d: number) => [0x0d, d], RETURN = 0x0f;
  const load8u = (offset: number) => [0x2d, 0, ...uleb(offset)];
  const load32 = [0x28, 2, 0];
  // h = (h << 1) + GEAR[mem[p + j]]; if ((h & mask) == 0) return p + j + 1;
  const step = (j: number) => [
    ...get(H), ...i32const(1), SHL,
    ...get(P), ...load8u(j), ...i32const(2), SHL, ...load32,
    ADD, ...tee(H),
    ...get(MASK), AND, EQZ,
    ...IF, ...get(P), ...i32const(j + 1), ADD, RETURN, END,
  ];
  const code = [
    0, // no locals besides the parameters
    ...BLOCK, ...LOOP, // while (p + 4 <= stop) { 4 steps; p += 4 }
    ...get(P), ...i32const(4), ADD, ...get(STOP), GT_U, ...BR_IF(1),
    ...step(0), ...step(1), ...step(2), ...step(3),
    ...get(P), ...i32const(4), ADD, ...set(P),
    ...BR(0), END, END,
    ...BLOCK, ...LOOP, // while (p < stop) { 1 step; p += 1 }
    ...get(P), ...get(STOP), GE_U, ...BR_IF(1),
    ...step(0),
    ...get(P), ...i32const(1), ADD, ...set(P),
    ...BR(0), END, END,
    ...get(H), 0x24, 0, // global.set 0
    ...i32const(0),
    END,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]), // type 0: (i32 x4) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, 1]), // one memory, min 1 page, no max
    ...section(6, [1, I32, 1, 0x41, 0, END]), // global 0: mutable i32 = 0
    ...section(7, [3, ...name('m'), 2, 0, ...name('s'), 0, 0, ...name('h'), 3, 0]), // exports
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

function makeWasmScan(): Scan | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return undefined;
  let exports: Record<string, unknown>;
  try {
    exports = new wasm.Instance(new wasm.Module(assembleScanModule()), {}).exports;
  } catch {
    return undefined; // e.g. a content security policy forbidding WebAssembly
  }
  const memory = exports.m as { buffer: ArrayBuffer };
  const fn = exports.s as (p: number, stop: number, h: number, mask: number) => number;
  const hOut = exports.h as { value: number };
  const mem = new Uint8Array(memory.buffer);
  new Int32Array(memory.buffer, 0, 256).set(GEAR_I32);
  return (data, from, to, h, mask) => {
    while (from < to) {
      const n = Math.min(to - from, WASM_SEGMENT);
      mem.set(data.subarray(from, from + n), WASM_DATA);
      const r = fn(WASM_DATA, WASM_DATA + n, h, mask);
      if (r !== 0) return from + (r - WASM_DATA);
      h = hOut.value;
      from += n;
    }
    scanH = h;
    return -1;
  };
}

const wasmScan = makeWasmScan();

/** True when the WebAssembly scanner could be instantiated (it is then the default engine). */
export const CDC_WASM_AVAILABLE: boolean = wasmScan !== undefined;

export type CdcEngine = 'wasm' | 'js';

export interface CdcChunkerOptions {
  /** Scanner to use; both give identical cuts. Default: 'wasm' when available, else 'js'. */
  engine?: CdcEngine;
}

const MASK_S = CDC_MASK_S | 0;
const MASK_L = CDC_MASK_L | 0;

/**
 * A streaming content-defined chunker. Feed it the bytes of a stream with push(); it returns the
 * cut positions (absolute offsets since creation or reset(), each the end of a chunk) found so
 * far. finish() closes the stream. Cuts do not depend on how the bytes are split into pushes.
 * The chunker does not keep the pushed bytes: the caller slices its own data at the cuts.
 */
export class CdcChunker {
  /** Which scanner this chunker uses. */
  readonly engine: CdcEngine;
  private readonly scan: Scan;
  /** Absolute offset of the end of the bytes pushed so far. */
  private pos = 0;
  /** Bytes since the last cut. */
  private len = 0;
  /** Gear hash of the bytes since offset (last cut + CDC_MIN_SIZE). */
  private h = 0;

  constructor(options: CdcChunkerOptions = {}) {
    const engine = options.engine ?? (wasmScan !== undefined ? 'wasm' : 'js');
    if (engine === 'wasm') {
      if (wasmScan === undefined) throw new Error('CdcChunker: WebAssembly is not available');
      this.scan = wasmScan;
    } else if (engine === 'js') {
      this.scan = jsScan;
    } else {
      throw new Error(`CdcChunker: unknown engine ${String(engine)}`);
    }
    this.engine = engine;
  }

  /** Feeds bytes; returns the cuts (absolute end offsets of chunks) completed by them, ascending. */
  push(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const n = data.length;
    const base = this.pos;
    const scan = this.scan;
    let len = this.len;
    let h = this.h;
    let p = 0;
    while (p < n) {
      if (len < CDC_MIN_SIZE) {
        // Skip the rest of the minimum region: no hashing, no cut.
        const k = Math.min(CDC_MIN_SIZE - len, n - p);
        len += k;
        p += k;
        continue;
      }
      // Scan until the chunk length reaches AVG (strict mask) or MAX (loose mask).
      const strict = len < CDC_AVG_SIZE;
      const k = Math.min((strict ? CDC_AVG_SIZE : CDC_MAX_SIZE) - len, n - p);
      const r = scan(data, p, p + k, h, strict ? MASK_S : MASK_L);
      if (r >= 0) {
        cuts.push(base + r);
        p = r;
        len = 0;
        h = 0;
        continue;
      }
      h = scanH;
      p += k;
      len += k;
      if (len === CDC_MAX_SIZE) {
        cuts.push(base + p);
        len = 0;
        h = 0;
      }
    }
    this.pos = base + n;
    this.len = len;
    this.h = h;
    return cuts;
  }

  /** Ends the stream: returns the final cut (the end offset) if bytes are pending, else undefined. */
  finish(): number | undefined {
    if (this.len === 0) return undefined;
    this.len = 0;
    this.h = 0;
    return this.pos;
  }

  /** True when the chunker is exactly at a cut (no bytes pending since the last cut). */
  get fresh(): boolean {
    return this.len === 0;
  }

  /** Total bytes pushed since creation or reset(). */
  get offset(): number {
    return this.pos;
  }

  /** Forgets everything: offsets start again at 0. */
  reset(): void {
    this.pos = 0;
    this.len = 0;
    this.h = 0;
  }
}

/** All cut positions of a complete buffer (ascending; the last is data.length when non-empty). */
export function cdcCuts(data: Uint8Array, options?: CdcChunkerOptions): number[] {
  const chunker = new CdcChunker(options);
  const cuts = chunker.push(data);
  const last = chunker.finish();
  if (last !== undefined) cuts.push(last);
  return cuts;
}
