// The tree's byte format. docs/format.md describes it; test vectors pin it.
import { murmur3Range } from './murmur3.js';

/**
 * The scale of node sizes, in weight units (see entryWeight): nodes end with the hazard of a
 * Weibull distribution of shape 3 and this scale, so a node weighs about 0.89x this on average,
 * one in eight weighs under half of it and almost none (e^-8) twice as much. (A hash-only rule
 * gives geometric sizes, where the node a random edit lands in is twice the average.)
 */
export const TARGET_NODE_BYTES = 4096;
/**
 * Added to an entry's key and value lengths when weighing it for a boundary. On inner levels,
 * whose values are 32-byte hashes, an entry then weighs its key + 64, as under v2.
 */
export const BOUNDARY_ENTRY_ALLOWANCE = 32;
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
 * An entry's weight for the boundary rule: its key's and value's lengths plus the allowance. The
 * value counts (kv tree v3): where values are large (file data inline in the tree), a key-only
 * weight left the hash rule nearly idle and most nodes ended at the payload cap, whose cuts
 * shift with every insert, so one put re-cut a dozen full nodes.
 */
export function entryWeight(keyLength: number, valueLength: number): number {
  return keyLength + valueLength + BOUNDARY_ENTRY_ALLOWANCE;
}

/**
 * The boundary threshold of an entry of weight `w` that brings its node's weight to `weight`:
 * floor(2^32 * ((weight / 4096)^3 - ((weight - w) / 4096)^3)), the chance (in 2^32ths) that a
 * Weibull(shape 3, scale 4096) node size ends within this entry, given that it did not end
 * before. Computed as (weight^3 - before^3) / 16, exact in doubles: a node's weight stays below
 * 2^17 (an entry weighs at most 8192 + 65536 + 32; before it, the node ended by this rule by
 * ~27k or by the payload cap), so the product stays below 2^51.
 * 2^32 or more means the entry always ends its node.
 */
export function boundaryThreshold(weight: number, w: number): number {
  const before = weight - w;
  return Math.floor((w * (weight * weight + weight * before + before * before)) / 16);
}

/**
 * Whether the entry with key buf[start:end] and weight `w` ends its node on `level` by the hash
 * rule, when it brings the node's weight (the sum of its entries' weights, this one included)
 * to `weight`.
 */
export function isBoundaryRange(buf: Uint8Array, start: number, end: number, level: number, weight: number, w: number): boolean {
  return murmur3Range(buf, start, end, boundarySeed(level)) < boundaryThreshold(weight, w);
}

/** isBoundaryRange of a whole key, whose entry's value has `valueLength` bytes. */
export function isBoundary(key: Uint8Array, level: number, weight: number, valueLength: number): boolean {
  return isBoundaryRange(key, 0, key.length, level, weight, entryWeight(key.length, valueLength));
}

/** Inner nodes hold at least two children (except the last of a level), so each level shrinks. */
export function minEntries(level: number): number {
  return level === 0 ? 1 : 2;
}
