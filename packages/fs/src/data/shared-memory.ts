// Chunks of large writes live in SharedArrayBuffers (see worker-hasher.ts). Whole results handed
// to callers (read, readFile) are never views of them: some APIs refuse shared memory (Web
// Crypto's digest, for one), and a caller should not have to know.

export function isShared(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;
}

/** bytes[from, to) as a view, or as a copy in plain memory if bytes are shared. */
export function unsharedView(bytes: Uint8Array, from: number, to: number): Uint8Array {
  return isShared(bytes.buffer) ? bytes.slice(from, to) : bytes.subarray(from, to);
}
