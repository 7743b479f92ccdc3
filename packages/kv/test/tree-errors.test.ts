import { describe, expect, it } from 'vitest';
import { MemoryLevel } from 'memory-level';
import { bytesToHex, compareBytes, utf8 } from '../src/bytes.js';
import { LevelBlobStore } from '../src/store/level-blob-store.js';
import { Tree, EMPTY_ROOT } from '../src/tree/tree.js';
import { buildNode } from '../src/tree/node.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../src/tree/format.js';
import { sha256 } from '../src/sha256.js';
import type { Hash } from '../src/hash.js';
import { collect, k } from './helpers.js';

async function setup(n = 5_000) {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view', storeEncoding: 'view' });
  const store = new LevelBlobStore(db);
  const raw = db.sublevel<Uint8Array, Uint8Array>('blobs', { keyEncoding: 'view', valueEncoding: 'view' });
  const tree = new Tree(store);
  const entries = Array.from({ length: n }, (_, i) => ({ key: utf8(`key-${String(i).padStart(6, '0')}`), value: utf8(`value ${i}`) }));
  const root = await tree.build(entries);
  return { store, raw, root, entries, tree };
}

/** A fresh Tree on the same store: nothing cached, every node read from the store. */
const cold = (store: LevelBlobStore) => new Tree(store);

async function someLeaf(tree: Tree, root: Hash): Promise<Hash> {
  let node = await tree.nodes.root(root);
  while (node.level > 0) node = await tree.nodes.child(node, Math.floor(node.count / 2));
  return node.hash;
}

describe('bad input and damaged stores give typed errors', () => {
  it('rejects oversized and non-bytes keys and values with E2BIG / EINVAL', async () => {
    const tree = new Tree(new LevelBlobStore(new MemoryLevel()));
    await expect(tree.put(EMPTY_ROOT, new Uint8Array(MAX_KEY_BYTES + 1), k('v'))).rejects.toMatchObject({ code: 'E2BIG' });
    await expect(tree.put(EMPTY_ROOT, k('a'), new Uint8Array(MAX_VALUE_BYTES + 1))).rejects.toMatchObject({ code: 'E2BIG' });
    await expect(tree.put(EMPTY_ROOT, 'a' as unknown as Uint8Array, k('v'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(tree.get(new Uint8Array(3), k('a'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(tree.entries(EMPTY_ROOT, { gt: k('a'), gte: k('b') }).next()).rejects.toMatchObject({ code: 'EINVAL' });
    const b = tree.builder();
    b.add(k('b'), k('1'));
    expect(() => b.add(k('a'), k('2'))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => b.add(k('b'), k('2'))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // Limits are inclusive.
    const r = await tree.put(EMPTY_ROOT, new Uint8Array(MAX_KEY_BYTES), new Uint8Array(MAX_VALUE_BYTES));
    expect((await tree.get(r, new Uint8Array(MAX_KEY_BYTES)))?.length).toBe(MAX_VALUE_BYTES);
  });

  it('an unknown root is ERR_ROOT_NOT_FOUND', async () => {
    const { tree } = await setup(10);
    await expect(tree.get(sha256(k('nothing')), k('a'))).rejects.toMatchObject({ code: 'ERR_ROOT_NOT_FOUND' });
  });

  it('a missing node is ERR_BLOB_NOT_FOUND, never a wrong answer', async () => {
    const { store, root, tree } = await setup();
    const leaf = await someLeaf(tree, root);
    const leafKey = (await tree.nodes.root(leaf)).maxKey()!;
    await store.delete([leaf]);
    const t = cold(store);
    await expect(collect(t.entries(root))).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND', hash: bytesToHex(leaf) });
    await expect(t.put(root, leafKey, k('x'))).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
    await expect(t.get(root, leafKey)).rejects.toMatchObject({ code: 'ERR_BLOB_NOT_FOUND' });
  });

  it('flipped bytes are ERR_INTEGRITY', async () => {
    const { store, raw, root, tree } = await setup();
    const leaf = await someLeaf(tree, root);
    const bytes = (await raw.get(leaf))!.slice();
    bytes[bytes.length - 1] ^= 1;
    await raw.put(leaf, bytes);
    await expect(collect(cold(store).entries(root))).rejects.toMatchObject({ code: 'ERR_INTEGRITY', hash: bytesToHex(leaf) });
  });

  it('a blob that is not a node, or a node in the wrong place, is ERR_CORRUPT_NODE', async () => {
    const { store, root, tree } = await setup();
    const notANode = await store.put(k('just some bytes'));
    await expect(cold(store).get(notANode, k('a'))).rejects.toMatchObject({ code: 'ERR_CORRUPT_NODE' });
    // A well-formed inner node whose child holds other keys than it claims.
    const leaf = await tree.nodes.root(await someLeaf(tree, root));
    const liar = buildNode(1, [k('a'), leaf.maxKey()!], [leaf.hash, leaf.hash]);
    await store.putHashed([{ hash: liar.hash, bytes: liar.bytes }]);
    await expect(collect(cold(store).entries(liar.hash))).rejects.toMatchObject({ code: 'ERR_CORRUPT_NODE' });
    // Unsorted keys inside a node.
    const bad = buildNode(0, [k('b'), k('a')], [k('1'), k('2')]);
    await store.putHashed([{ hash: bad.hash, bytes: bad.bytes }]);
    await expect(cold(store).get(bad.hash, k('a'))).rejects.toMatchObject({ code: 'ERR_CORRUPT_NODE' });
  });

  it('a failed mutation leaves the old root intact', async () => {
    const { root, entries, tree } = await setup();
    await expect(tree.mutate(root, [{ type: 'put', key: k('ok'), value: k('1') }, { type: 'put', key: new Uint8Array(MAX_KEY_BYTES + 1), value: k('2') }])).rejects.toMatchObject({ code: 'E2BIG' });
    const all = await collect(tree.entries(root));
    expect(all.length).toBe(entries.length);
    expect(all.every((e, i) => compareBytes(e.key, entries[i]!.key) === 0)).toBe(true);
  });
});
