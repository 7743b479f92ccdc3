// The head of a CBOR item (major type and an argument below 2^32) in its shortest form: what
// the tree's node codec and the filesystem's info codec write by hand.

/** Bytes of the head for argument `n` (below 2^32). */
export function cborHeadLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes the head of major type `major` with argument `n` (below 2^32) at `pos`; returns the end. */
export function writeCborHead(out: Uint8Array, pos: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[pos] = m | n;
    return pos + 1;
  }
  if (n < 0x100) {
    out[pos] = m | 24;
    out[pos + 1] = n;
    return pos + 2;
  }
  if (n < 0x10000) {
    out[pos] = m | 25;
    out[pos + 1] = n >>> 8;
    out[pos + 2] = n & 0xff;
    return pos + 3;
  }
  out[pos] = m | 26;
  out[pos + 1] = n >>> 24;
  out[pos + 2] = (n >>> 16) & 0xff;
  out[pos + 3] = (n >>> 8) & 0xff;
  out[pos + 4] = n & 0xff;
  return pos + 5;
}
