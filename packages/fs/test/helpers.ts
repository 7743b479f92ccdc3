import { MemoryBlobStore, bytesToHex, type Hash } from '@cafs/kv';
import { Fs, type FsOptions } from '../src/index.js';

/** A filesystem on a fresh memory store with a fixed clock, so roots are reproducible. */
export function newFs(options: FsOptions = {}): Fs {
  return new Fs(new MemoryBlobStore(), { now: () => 1_700_000_000_000_000_000n, ...options });
}

export const hex = (h: Hash): string => bytesToHex(h);
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === undefined) throw err;
    return code;
  }
}

/** Deterministic bytes (xorshift32). */
export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Marsaglia xorshift32 (13, 17, 5) from `seed`, each state appended as 4 little-endian bytes (the format vectors' input). */
export function xorshift32Bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = x >>> 24;
  }
  return out;
}
