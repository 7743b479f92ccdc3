// The zstd seam. Decoding always works: fzstd, a pure-JS decoder, runs anywhere (the browser
// path). Encoding needs a native zstd: under Node the package's `node` entry installs zstd-napi
// (zstd-node.ts), loaded on first use. A writer without an encoder stores blobs raw, which
// every reader reads (docs/format.md, "Stored-blob codecs").
import { decompress as fzstdDecompress } from 'fzstd';

export interface ZstdImplementation {
  /** What it is, for reports: "zstd-napi 1.5.7", "fzstd". */
  readonly name: string;
  /**
   * One zstd frame of `data` at `level`, with the content size in its header; absent: cannot
   * encode. The bytes may be a scratch buffer's, valid only until the next call.
   */
  compress?(data: Uint8Array, level: number): Uint8Array;
  /** The frame's content, exactly `size` bytes (the caller read the size from the frame header). */
  decompress(frame: Uint8Array, size: number): Uint8Array;
}

/** Pure JavaScript: decodes any frame without a dictionary; does not encode. */
export const portableZstd: ZstdImplementation = {
  name: 'fzstd',
  decompress: (frame, size) => {
    const out = fzstdDecompress(frame, new Uint8Array(size));
    if (out.length !== size) throw new Error(`frame holds ${out.length} bytes, its header says ${size}`);
    return out;
  },
};

let current: ZstdImplementation = portableZstd;
let loader: (() => ZstdImplementation | undefined) | undefined;

/** The implementation in use (loading the installed native one on first call). */
export function zstd(): ZstdImplementation {
  if (loader !== undefined) {
    const load = loader;
    loader = undefined;
    try {
      current = load() ?? current;
    } catch {
      // No native addon here (not built, another platform): fzstd decodes, nothing encodes.
    }
  }
  return current;
}

/** Installs an implementation, or a loader called on first use. Returns nothing; see zstd(). */
export function setZstd(impl: ZstdImplementation | (() => ZstdImplementation | undefined)): void {
  if (typeof impl === 'function') {
    loader = impl;
  } else {
    loader = undefined;
    current = impl;
  }
}

/** zstd's frame magic number, 0xFD2FB528, little-endian. */
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * The content size a zstd frame header declares (RFC 8878 §3.1.1.1), or undefined when the
 * frame does not declare one or is not a zstd frame. Pure arithmetic on at most 18 bytes.
 */
export function zstdContentSize(frame: Uint8Array): number | undefined {
  if (frame.length < 5) return undefined;
  for (let i = 0; i < 4; i++) if (frame[i] !== MAGIC[i]) return undefined;
  const fhd = frame[4]!;
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  if ((fhd >>> 3) & 1) return undefined; // reserved bit
  const dictFlag = fhd & 3;
  if (fcsFlag === 0 && singleSegment === 0) return undefined; // size not declared
  let at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]!;
  const fcsBytes = fcsFlag === 0 ? 1 : [1, 2, 4, 8][fcsFlag]!;
  if (frame.length < at + fcsBytes) return undefined;
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i]!;
  if (fcsBytes === 2) size += 256;
  return size;
}
