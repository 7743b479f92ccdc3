import { MemoryBlobStore, bytesToHex, sha256 } from '@cafs/kv';
import { describe, expect, it } from 'vitest';
import { GcGuard } from '../src/gc-guard.js';

const blob = (i: number): Uint8Array => new TextEncoder().encode(`blob ${i}`);

describe('GcGuard journal', () => {
  it('lists what was put before a collection, protects what was put after, and forgets what it examined', async () => {
    const guard = new GcGuard(new MemoryBlobStore());
    const early = await guard.putMany([blob(1), blob(2), blob(1)]);
    await new Promise((r) => setTimeout(r, 5));
    const epoch = guard.begin(0);
    expect(epoch.old.map((h) => bytesToHex(h)).sort()).toEqual([bytesToHex(sha256(blob(1))), bytesToHex(sha256(blob(2)))].sort());
    // Puts during the collection are protected; older ones are not.
    const during = await guard.put(blob(3));
    expect(guard.isProtected(bytesToHex(during))).toBe(true);
    expect(guard.isProtected(bytesToHex(early[1]!))).toBe(false);
    // Put again during the collection: protected now.
    await guard.put(blob(2));
    expect(guard.isProtected(bytesToHex(early[1]!))).toBe(true);
    guard.end(epoch.old, undefined);
    // What the collection examined is gone from the journal; later puts stay.
    const next = guard.begin(-1e9);
    expect(next.old.map((h) => bytesToHex(h)).sort()).toEqual([bytesToHex(during), bytesToHex(early[1]!)].sort());
    guard.release();
  });

  it('keeps one entry per blob when the same blobs are put again and again', async () => {
    const guard = new GcGuard(new MemoryBlobStore(), { compactFrom: 100 });
    for (let round = 0; round < 60; round++) await guard.putMany(Array.from({ length: 10 }, (_, i) => blob(i)));
    expect(guard.journalSize).toBeLessThanOrEqual(200);
    const epoch = guard.begin(-1e9);
    expect(new Set(epoch.old.map((h) => bytesToHex(h))).size).toBe(10);
    expect(epoch.old).toHaveLength(10);
    guard.release();
  });
});
