// zstd under Node: zstd-napi's low-level binding (libzstd, built from the sources the package
// ships). One compression and one decompression context are reused, and frames are written
// into one scratch buffer and copied out at their size, so a stored blob holds no slack.
//
// Why zstd-napi: measured on this machine on 64 KiB pieces of the workspace's node_modules at
// level 3, a reused context compresses ~180 MB/s and decompresses ~850 MB/s; @toondepauw/node-zstd
// (prebuilt, from the npm registry) did 83 and 59 MB/s, the WebAssembly builds 18-62 and 4-196.
// @mongodb-js/zstd fetches its binaries (or the zstd sources) from GitHub at install time, which
// fails where only the npm registry is reachable; zstd-napi falls back to node-gyp on the
// sources it carries, with the headers of the installed Node.
import { createRequire } from 'node:module';
import type { ZstdImplementation } from './zstd.js';

interface Binding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  compressBound(size: number): number;
  versionString(): string;
}

/** Loads zstd-napi, or throws if its addon is not built here. */
export function loadNodeZstd(): ZstdImplementation {
  const binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
  const cctx = new binding.CCtx();
  const dctx = new binding.DCtx();
  let scratch = new Uint8Array(0);
  return {
    name: `zstd-napi (libzstd ${binding.versionString()})`,
    compress(data, level) {
      const bound = binding.compressBound(data.length);
      if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, 64 * 1024));
      const n = cctx.compress(scratch, data, level);
      return scratch.subarray(0, n); // valid until the next call: the caller copies it
    },
    decompress(frame, size) {
      const out = new Uint8Array(size);
      const n = dctx.decompress(out, frame);
      if (n !== size) throw new Error(`frame holds ${n} bytes, its header says ${size}`);
      return out;
    },
  };
}
