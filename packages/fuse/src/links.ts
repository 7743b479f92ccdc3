// The names of a hard-linked inode, read from the tree: the mount needs them when a name a
// descriptor still uses goes away (libfuse hides an open file it unlinks) while others remain.
// @cafs/fs keeps an inode at the least of its names' info keys, with the others listed in its
// info record (`links`), and a link record at every other name: [7, that key] as CBOR
// (docs/format.md). @cafs/fs exports no reader of link records, so this one decodes them.
import { decodeInfo, infoKey, type Fs } from '@cafs/fs';
import type { Hash } from '@cafs/kv';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The info key of a mount path ("/a/b" -> "/a/b/"). */
export function keyOfPath(path: string): Uint8Array {
  return infoKey(path.split('/').filter((n) => n !== '').map((n) => encoder.encode(n)));
}

/** The mount path of an info key ("/a/b/" -> "/a/b"; "/" -> "/"). */
export function pathOfKey(key: Uint8Array): string {
  return key.length <= 1 ? '/' : decoder.decode(key.subarray(0, key.length - 1));
}

const isLinkRecord = (v: Uint8Array): boolean => v.length > 2 && v[0] === 0x82 && v[1] === 7;

/** The key a link record names (a CBOR byte string after 0x82 0x07). */
function linkTarget(v: Uint8Array): Uint8Array {
  const head = v[2]!;
  const info = head & 31;
  const extra = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : -1;
  if (head >> 5 !== 2 || extra < 0) throw new Error('corrupt link record');
  let n = info < 24 ? info : 0;
  for (let i = 0; i < extra; i++) n = n * 256 + v[3 + i]!;
  return v.subarray(3 + extra, 3 + extra + n);
}

/** Every name of the inode at `path` in `root` (itself included; [] when it does not exist). */
export async function inodeNames(fs: Fs, root: Hash, path: string): Promise<string[]> {
  let primary = keyOfPath(path);
  let v = await fs.tree.get(root, primary);
  if (v === undefined) return [];
  if (isLinkRecord(v)) {
    primary = linkTarget(v).slice();
    v = await fs.tree.get(root, primary);
    if (v === undefined) return [path];
  }
  const info = decodeInfo(v);
  return [primary, ...(info.links ?? [])].map(pathOfKey);
}
