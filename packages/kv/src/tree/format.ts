// The tree's byte format. docs/format.md describes it; test vectors pin it.
import { murmur3Range } from './murmur3.js';

/**
 * The scale of node sizes, in weight units (see entryWeight): nodes end with the hazard of a
 * Weibull distribution of shape 3 and this scale, so a node weighs about 0.89x this on average,
 * one in eight weighs under half of it and almost none (e^-8) twice as much. (A hash-only rule
 * gives geometric sizes, where the node a random edit lands in is twice the average.)
 */
export const TARGET_NODE_BYTES = 4096;
/** Added to a key's length when weighing its entry for a boundary (stands in for the value). */
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

/** An entry's weight for the boundary rule: its key's length plus the value allowance. */
export function entryWeight(keyLength: number): number {
  return keyLength + BOUNDARY_ENTRY_ALLOWANCE;
}

/**
 * The boundary threshold of an entry of weight `w` that brings its node's weight to `weight`:
 * floor(2^32 * ((weight / 4096)^3 - ((weight - w) / 4096)^3)), the chance (in 2^32ths) that a
 * Weibull(shape 3, scale 4096) node size ends within this entry, given that it did not end
 * before. Computed as (weight^3 - before^3) / 16, exact in doubles: weights stay below 2^15.
 * 2^32 or more means the entry always ends its node.
 */
export function boundaryThreshold(weight: number, w: number): number {
  const before = weight - w;
  return Math.floor((w * (weight * weight + weight * before + before * before)) / 16);
}

/**
 * Whether the entry with key buf[start:end] ends its node on `level` by the hash rule, when it
 * brings the node's weight (the sum of its entries' weights, this one included) to `weight`.
 */
export function isBoundaryRange(buf: Uint8Array, start: number, end: number, level: number, weight: number): boolean {
  return murmur3Range(buf, start, end, boundarySeed(level)) < boundaryThreshold(weight, entryWeight(end - start));
}

/** isBoundaryRange of a whole key. */
export function isBoundary(key: Uint8Array, level: number, weight: number): boolean {
  return isBoundaryRange(key, 0, key.length, level, weight);
}

/** Inner nodes hold at least two children (except the last of a level), so each level shrinks. */
export function minEntries(level: number): number {
  return level === 0 ? 1 : 2;
}
