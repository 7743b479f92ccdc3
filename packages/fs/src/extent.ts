// Extent values (docs/format.md, "Extents"): where the bytes of one piece of a file live.
import { Encoder, decode } from 'cbor-x';
import { HASH_BYTES, type Hash } from '@cafs/kv';

/** Content up to this many bytes is kept inline in the extent value instead of a blob. */
export const INLINE_MAX = 1024;

export type Extent =
  | { inline: Uint8Array; ref?: undefined; offset?: undefined; length?: undefined }
  | { inline?: undefined; ref: Hash; offset: number; length: number };

const cbor = new Encoder({ tagUint8Array: false, useRecords: false });

/** Inline: the bytes as a CBOR byte string. In a blob: CBOR array [hash, offset, length]. */
export function encodeExtent(e: Extent): Uint8Array {
  return (e.inline !== undefined ? cbor.encode(e.inline) : cbor.encode([e.ref, e.offset, e.length])) as Uint8Array;
}

export class CorruptExtentError extends Error {
  readonly code = 'ERR_CORRUPT_EXTENT';
}

export function decodeExtent(bytes: Uint8Array): Extent {
  let v: unknown;
  try {
    v = decode(bytes);
  } catch (err) {
    throw new CorruptExtentError('an extent is not valid CBOR', { cause: err });
  }
  if (v instanceof Uint8Array) return { inline: v };
  if (Array.isArray(v) && v.length === 3 && v[0] instanceof Uint8Array && v[0].length === HASH_BYTES) {
    return { ref: v[0], offset: Number(v[1]), length: Number(v[2]) };
  }
  throw new CorruptExtentError('an extent has the wrong shape');
}

export function extentLength(e: Extent): number {
  return e.inline !== undefined ? e.inline.length : e.length;
}
