// The info key of a path as the fs lays keys out ("/" for the root, else the path and "/"), and
// a prefix test over such keys: what merges compare and replace whole subtrees by.
const SLASH = 0x2f;

export function keyOfPath(pathBytes: Uint8Array): Uint8Array {
  if (pathBytes.length === 1 && pathBytes[0] === SLASH) return pathBytes;
  const key = new Uint8Array(pathBytes.length + 1);
  key.set(pathBytes);
  key[pathBytes.length] = SLASH;
  return key;
}

export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}
