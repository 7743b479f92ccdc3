// The GotFS-style key layout (docs/format.md, "Filesystem keys").
//   Info of a path:   "/" + names joined by "/" + "/"        (the root is "/")
//   Extent of a file: info key + 0x00 + uint64 big-endian end offset of the extent
import { successor } from '@cafs/kv';

export const ROOT_KEY: Uint8Array = Uint8Array.of(0x2f);
const SLASH = 0x2f;

export function infoKey(names: readonly Uint8Array[]): Uint8Array {
  let len = 1;
  for (const n of names) len += n.length + 1;
  const key = new Uint8Array(len);
  key[0] = SLASH;
  let pos = 1;
  for (const n of names) {
    key.set(n, pos);
    pos += n.length;
    key[pos++] = SLASH;
  }
  return key;
}

/** The info key of a child named `name` of the directory whose info key is `dirKey`. */
export function childKey(dirKey: Uint8Array, name: Uint8Array): Uint8Array {
  const key = new Uint8Array(dirKey.length + name.length + 1);
  key.set(dirKey);
  key.set(name, dirKey.length);
  key[key.length - 1] = SLASH;
  return key;
}

export function extentKey(info: Uint8Array, end: bigint): Uint8Array {
  const key = new Uint8Array(info.length + 9);
  key.set(info);
  key[info.length] = 0;
  new DataView(key.buffer, key.byteOffset + info.length + 1, 8).setBigUint64(0, end);
  return key;
}

/** The first key after every key that starts with `prefix` (for ranges over a subtree). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  // Every key under an info key K starts with K; K with its last byte ("/") raised to "0" is
  // the least key above all of them.
  const end = prefix.slice();
  end[end.length - 1]! += 1;
  return end;
}

/** The bounds of a file's extent keys: (info + 0x00, info + 0x01). */
export function extentRange(info: Uint8Array): { gt: Uint8Array; lt: Uint8Array } {
  const lt = new Uint8Array(info.length + 1);
  lt.set(info);
  lt[info.length] = 1;
  return { gt: successor(info), lt };
}

/** Whether `key` is an extent key (its last 9 bytes are 0x00 + offset). */
export function isExtentKey(key: Uint8Array): boolean {
  return key.length >= 10 && key[key.length - 9] === 0;
}

export function extentEnd(key: Uint8Array): bigint {
  return new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigUint64(0);
}

/** The info key an extent key belongs to. */
export function extentOwner(key: Uint8Array): Uint8Array {
  return key.subarray(0, key.length - 9);
}

/** The names of the path of an info key. */
export function keyNames(key: Uint8Array): Uint8Array[] {
  const names: Uint8Array[] = [];
  let start = 1;
  for (let i = 1; i < key.length; i++) {
    if (key[i] === SLASH) {
      names.push(key.subarray(start, i));
      start = i + 1;
    }
  }
  return names;
}

/** The last name of an info key's path, and the parent's info key. */
export function splitKey(key: Uint8Array): { parent: Uint8Array; name: Uint8Array } {
  let i = key.length - 2;
  while (i >= 0 && key[i] !== SLASH) i--;
  return { parent: key.subarray(0, i + 1), name: key.subarray(i + 1, key.length - 1) };
}
