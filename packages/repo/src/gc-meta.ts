// The collector's persistent state: a meta tree describing the retained set of the last
// collection (kept blobs, data reference counts, branch heads, roots) and the state blob
// ('refs/gc/state') that names it. An incremental collection starts from it.
import { Encoder, decode } from 'cbor-x';
import { EMPTY_ROOT, Tree, bytesToHex, compareBytes, type Entry, type Hash } from '@cafs/kv';
import { tryGet } from './tree-walk.js';
import { GC_STATE_NAME } from './ref-names.js';
import type { Retention } from './gc-types.js';
import type { Repo } from './repo.js';

export const K_KEPT = 0x63; // 'c' + hash -> root (commits) or empty (other kept blobs)
export const K_DATA = 0x64; // 'd' + hash -> decimal reference count
export const K_HEAD = 0x68; // 'h' + branch -> head root
export const K_ROOT = 0x72; // 'r' + root -> label
export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const EMPTY = new Uint8Array(0);
export const EMPTY_ID = bytesToHex(EMPTY_ROOT);
const STATE_TAG = 'cafs-gc-state-v1';
const cbor = new Encoder({ tagUint8Array: false, useRecords: false, mapsAsObjects: false });

export function metaKey(kind: number, body: Uint8Array): Uint8Array {
  const k = new Uint8Array(body.length + 1);
  k[0] = kind;
  k.set(body, 1);
  return k;
}

export const countValue = (n: number): Uint8Array => enc.encode(String(n));

export function metaEntries(r: Retention, refs: Map<string, { hash: Hash; n: number }>): Entry[] {
  const out: Entry[] = [];
  for (const k of r.kept.values()) out.push({ key: metaKey(K_KEPT, k.hash), value: k.root ?? EMPTY });
  for (const d of refs.values()) if (d.n > 0) out.push({ key: metaKey(K_DATA, d.hash), value: countValue(d.n) });
  for (const [b, root] of r.heads) out.push({ key: metaKey(K_HEAD, enc.encode(b)), value: root });
  for (const x of r.roots.values()) out.push({ key: metaKey(K_ROOT, x.hash), value: enc.encode(x.label) });
  return out.sort((a, b) => compareBytes(a.key, b.key));
}

export interface State {
  hash: Hash;
  meta: Hash;
  liveCount: number;
}

export function encodeState(meta: Hash, liveCount: number): Uint8Array {
  return cbor.encode([STATE_TAG, meta, liveCount]) as Uint8Array;
}

/** The state the last collection left ('refs/gc/state'), if any and readable. */
export async function readGcState(repo: Repo): Promise<State | undefined> {
  const hash = await repo.names.get(GC_STATE_NAME);
  if (hash === undefined) return undefined;
  const bytes = await tryGet(repo.store, hash);
  if (bytes === undefined) return undefined;
  try {
    const v = decode(bytes) as unknown;
    if (Array.isArray(v) && v[0] === STATE_TAG && v[1] instanceof Uint8Array && typeof v[2] === 'number') {
      return { hash, meta: v[1], liveCount: v[2] };
    }
  } catch {
    // not a state blob
  }
  return undefined;
}

/** The retained set a meta tree describes (not its data counts). */
export async function readMeta(tree: Tree, meta: Hash): Promise<Retention> {
  const r: Retention = { kept: new Map(), roots: new Map(), heads: new Map() };
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_KEPT), lt: Uint8Array.of(K_DATA) })) {
    const hash = e.key.slice(1);
    r.kept.set(bytesToHex(hash), { hash, root: e.value.length > 0 ? e.value.slice() : undefined });
  }
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_HEAD), lt: Uint8Array.of(K_HEAD + 1) })) {
    r.heads.set(dec.decode(e.key.subarray(1)), e.value.slice());
  }
  for await (const e of tree.entries(meta, { gte: Uint8Array.of(K_ROOT), lt: Uint8Array.of(K_ROOT + 1) })) {
    const hash = e.key.slice(1);
    r.roots.set(bytesToHex(hash), { hash, label: dec.decode(e.value) });
  }
  return r;
}
