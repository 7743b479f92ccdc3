// The overlay a read/write mount of a remote branch writes into: the shared BlobStore conformance
// suite, plus what an overlay adds (reads fall through, writes and deletes stay local).
import { describe, expect, it } from 'vitest';
import { MemoryBlobStore, bytesToHex, sha256 } from '@cafs/kv';
import { blobStoreConformance } from '@cafs/kv/testing';
import { OverlayBlobStore } from '../src/index.js';

blobStoreConformance('overlay (MemoryBlobStore over an empty MemoryBlobStore)', {
  // Integrity is the local store's (its own conformance run corrupts it): no corrupt hook here.
  open: async (options) => new OverlayBlobStore(new MemoryBlobStore(options), new MemoryBlobStore(options)),
});

describe('overlay store', () => {
  it('reads through to the base, writes and deletes only locally', async () => {
    const base = new MemoryBlobStore();
    const local = new MemoryBlobStore();
    const o = new OverlayBlobStore(local, base);
    const below = await base.put(new TextEncoder().encode('from the base'));
    const mine = await o.put(new TextEncoder().encode('written here'));
    expect(new TextDecoder().decode(await o.get(below))).toBe('from the base');
    expect(await o.has([below, mine, sha256(new Uint8Array([1]))])).toEqual([true, true, false]);
    expect(await base.has([mine])).toEqual([false]);
    const listed: string[] = [];
    for await (const h of o.hashes()) listed.push(bytesToHex(h));
    expect(listed).toEqual([bytesToHex(mine)]);
    await o.delete([below, mine]);
    expect(await base.has([below])).toEqual([true]);
    expect(await o.has([below, mine])).toEqual([true, false]);
  });
});
