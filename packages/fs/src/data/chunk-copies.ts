// Copies of small chunks for the store, carved from shared slabs: a fresh ArrayBuffer per 4 KiB
// chunk costs microseconds in a large heap, more than copying it. The price: a slab stays in
// memory while any chunk carved from it is kept (at most SLAB_BYTES / chunk size of them).

const SLAB_BYTES = 256 * 1024;
/** Larger chunks get an allocation of their own. */
const MAX_CARVED = 16 * 1024;

let slab = new Uint8Array(0);
let used = 0;

/** A copy of bytes[start, end) that nothing else writes to. */
export function chunkCopy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > MAX_CARVED) return bytes.slice(start, end);
  if (used + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(bytes.subarray(start, end));
  used += n;
  return out;
}
