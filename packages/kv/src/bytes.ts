/** Unsigned lexicographic comparison, the order of every key in cafs. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** compareBytes(buf[start:end], key) without allocating a view. */
export function compareRange(buf: Uint8Array, start: number, end: number, key: Uint8Array): number {
  const len = end - start;
  const n = len < key.length ? len : key.length;
  for (let i = 0; i < n; i++) {
    const d = buf[start + i]! - key[i]!;
    if (d !== 0) return d;
  }
  return len - key.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The smallest key greater than `key`: `key` followed by one zero byte. */
export function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[bytes[i]!];
  return s;
}

const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** Writes the bytes of well-formed hex text (checked by the caller) into `out` from `at`. */
export function hexInto(hex: string, out: Uint8Array, at: number): void {
  for (let i = 0, j = at; i < hex.length; i += 2, j++) {
    out[j] = (HEX_VALUE[hex.charCodeAt(i)]! << 4) | HEX_VALUE[hex.charCodeAt(i + 1)]!;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
export const fromUtf8 = (b: Uint8Array): string => decoder.decode(b);

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}
