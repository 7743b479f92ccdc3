import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileReader } from '../src/index.js';
import { bytes, codeOf, hex, newFs } from './helpers.js';

describe('FileReader (a file opened for many reads)', () => {
  it('readInto equals a model of the content: random writes, holes, inline and chunked extents, any window', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 3_000_000 }), len: fc.integer({ min: 1, max: 400_000 }), seed: fc.integer({ min: 1, max: 1e9 }) }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 3_500_000 }), len: fc.integer({ min: 0, max: 600_000 }) }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(1, 2, 256),
        async (writes, reads, window) => {
          FileReader.windowEntries = window;
          const fs = newFs();
          let root = await fs.writeFile(await fs.mkfs(), '/f', '');
          let model = new Uint8Array(0);
          for (const w of writes) {
            const data = bytes(w.len, w.seed);
            root = await fs.write(root, '/f', w.at, data);
            if (model.length < w.at + w.len) {
              const grown = new Uint8Array(w.at + w.len);
              grown.set(model);
              model = grown;
            }
            model.set(data, w.at);
          }
          const reader = await fs.openFile(root, '/f');
          expect(reader.size).toBe(BigInt(model.length));
          for (const r of reads) {
            const out = new Uint8Array(r.len).fill(0xee);
            const n = await reader.readInto(out, r.at);
            const want = model.subarray(Math.min(r.at, model.length), Math.min(r.at + r.len, model.length));
            expect(n).toBe(want.length);
            expect(Buffer.from(out.subarray(0, n)).equals(Buffer.from(want))).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
    FileReader.windowEntries = 256;
  });

  it('reads a 1 EiB sparse file at its far end; directories and missing paths are refused', async () => {
    const fs = newFs();
    let root = await fs.writeFile(await fs.mkfs(), '/s', '');
    root = await fs.write(root, '/s', 2n ** 60n - 3n, new Uint8Array([1, 2, 3]));
    const r = await fs.openFile(root, '/s');
    const out = new Uint8Array(8).fill(9);
    expect(await r.readInto(out, 2n ** 60n - 5n)).toBe(5);
    expect([...out.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    expect(await r.readInto(out, 2n ** 60n)).toBe(0);
    root = await fs.mkdir(root, '/d');
    expect(await codeOf(fs.openFile(root, '/d'))).toBe('EISDIR');
    expect(await codeOf(fs.openFile(root, '/nope'))).toBe('ENOENT');
  });
});

describe('small whole-content writes (the fast path of a write into an empty file)', () => {
  it('give the same root as a stream and as pieces, with holes, inline runs and short last blocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ zero: fc.boolean(), len: fc.oneof(fc.integer({ min: 1, max: 6000 }), fc.constantFrom(1023, 1024, 1025, 4095, 4096, 4097, 8192)), seed: fc.integer({ min: 1, max: 1e9 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 30_000 }),
        async (parts, split) => {
          const content = new Uint8Array(parts.reduce((n, p) => n + p.len, 0));
          let o = 0;
          for (const p of parts) {
            if (!p.zero) content.set(bytes(p.len, p.seed), o);
            o += p.len;
          }
          const data = content.subarray(0, Math.min(content.length, 32 * 1024 - 1));
          const fs = newFs();
          const empty = await fs.writeFile(await fs.mkfs(), '/f', '');
          const fast = await fs.write(empty, '/f', 0, data);
          const streamed = await fs.writeFile(await fs.mkfs(), '/f', [data.subarray(0, 1), data.subarray(1)]);
          const cut = Math.min(split, data.length);
          const pieces = await fs.write(await fs.write(empty, '/f', 0, data.subarray(0, cut)), '/f', cut, data.subarray(cut));
          expect(hex(fast)).toBe(hex(streamed));
          expect(hex(fast)).toBe(hex(pieces));
          expect(Buffer.from(await fs.readFile(fast, '/f')).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('same roots at the inline and block boundaries', async () => {
    const fs = newFs();
    const empty = await fs.writeFile(await fs.mkfs(), '/f', '');
    for (const zeros of [0, 4096, 8192]) {
      for (const len of [1, 1023, 1024, 1025, 4095, 4096, 4097, 5120, 9216, 32767 - zeros]) {
        const data = new Uint8Array(zeros + len);
        data.set(bytes(len, len + zeros), zeros);
        const fast = await fs.write(empty, '/f', 0, data);
        const streamed = await fs.writeFile(await fs.mkfs(), '/f', [data.subarray(0, 1), data.subarray(1)]);
        expect(hex(fast)).toBe(hex(streamed));
      }
    }
  });
});
