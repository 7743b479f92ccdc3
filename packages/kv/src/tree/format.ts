// The tree's byte format. docs/format.md describes it; test vectors pin it.
import { murmur3Range } from './murmur3.js';

/** Node boundaries aim at nodes of about this many payload bytes. */
export const TARGET_NODE_BYTES = 4096;
/** Added to a key's length when weighing it for a boundary (stands in for the value). */
export const BOUNDARY_ENTRY_ALLOWANCE = 64;
/** A node whose payload reaches this many bytes ends at that entry whatever the hash says. */
export const MAX_NODE_BYTES = 16384;
export const MAX_KEY_BYTES = 8192;
export const MAX_VALUE_BYTES = 65536;
/** Deepest level accepted when decoding (a real tree of 2^53 entries is about 12 levels). */
export const MAX_LEVEL = 48;

const SEED_BASE = 0x63616673; // "cafs"
const SEED_STEP = 0x9e3779b9;

export function boundarySeed(level: number): number {
  return (SEED_BASE + Math.imul(level, SEED_STEP)) >>> 0;
}

/**
 * Whether `key` ends a node on `level` by its hash alone: murmur3(key, seed(level)) is below
 * (len(key) + 64) * 2^20, i.e. with probability (len(key) + 64) / 4096.
 */
export function isBoundaryKey(key: Uint8Array, level: number): boolean {
  return isBoundaryKeyRange(key, 0, key.length, level);
}

/** isBoundaryKey of buf[start:end]. */
export function isBoundaryKeyRange(buf: Uint8Array, start: number, end: number, level: number): boolean {
  const weight = end - start + BOUNDARY_ENTRY_ALLOWANCE;
  if (weight >= TARGET_NODE_BYTES) return true;
  return murmur3Range(buf, start, end, boundarySeed(level)) < weight * (2 ** 32 / TARGET_NODE_BYTES);
}

/** Inner nodes hold at least two children (except the last of a level), so each level shrinks. */
export function minEntries(level: number): number {
  return level === 0 ? 1 : 2;
}
