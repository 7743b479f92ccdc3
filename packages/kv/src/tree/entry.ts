import { InvalidArgumentError, TooLargeError } from '../errors.js';
import { successor } from '../bytes.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './format.js';

export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/** One edit of a batch: abstract-level's batch operation shape. */
export type Edit = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** Bounds on keys, as in abstract-level. */
export interface KeyRange {
  gt?: Uint8Array | undefined;
  gte?: Uint8Array | undefined;
  lt?: Uint8Array | undefined;
  lte?: Uint8Array | undefined;
}

/** A range as [lo, hi): lo inclusive, hi exclusive, either open. */
export interface HalfOpenRange {
  lo: Uint8Array | undefined;
  hi: Uint8Array | undefined;
}

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new InvalidArgumentError('a key must be a Uint8Array');
  if (key.length > MAX_KEY_BYTES) throw new TooLargeError('key', key.length, MAX_KEY_BYTES);
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('a value must be a Uint8Array');
  if (value.length > MAX_VALUE_BYTES) throw new TooLargeError('value', value.length, MAX_VALUE_BYTES);
}

export function toHalfOpen(range: KeyRange = {}): HalfOpenRange {
  const bound = (name: keyof KeyRange): Uint8Array | undefined => {
    const b = range[name];
    if (b !== undefined) checkKey(b);
    return b;
  };
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  if (gt !== undefined && gte !== undefined) throw new InvalidArgumentError('give gt or gte, not both');
  if (lt !== undefined && lte !== undefined) throw new InvalidArgumentError('give lt or lte, not both');
  return {
    lo: gte ?? (gt !== undefined ? successor(gt) : undefined),
    hi: lt ?? (lte !== undefined ? successor(lte) : undefined),
  };
}
