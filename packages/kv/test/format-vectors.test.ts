import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '../src/node.js';
import { bytesToHex, utf8 } from '../src/bytes.js';
import { boundarySeed, boundaryThreshold, entryWeight, isBoundary } from '../src/tree/format.js';
import { murmur3 } from '../src/tree/murmur3.js';
import { buildNode } from '../src/tree/node.js';
import { EMPTY_ROOT } from '../src/tree/tree.js';
import { newTree } from './helpers.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');

function rootVectors(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of doc.matchAll(/^\| `([a-z0-9-]+)` \| .* \| `([0-9a-f]{64})` \|$/gm)) if (!m[1]!.startsWith('fs-')) out.set(m[1]!, m[2]!);
  return out;
}

describe('docs/format.md test vectors', () => {
  const vectors = rootVectors();

  it('lists the vectors this test knows how to build', () => {
    expect([...vectors.keys()].sort()).toEqual(['empty', 'one', 'seq-100', 'seq-1000', 'seq-10000']);
  });

  it('roots match byte for byte', async () => {
    const tree = newTree();
    const seq = (n: number) =>
      tree.build(Array.from({ length: n }, (_, i) => ({ key: utf8(`key-${String(i).padStart(6, '0')}`), value: utf8(`value ${i}`) })));
    expect(bytesToHex(EMPTY_ROOT)).toBe(vectors.get('empty'));
    expect(bytesToHex(await tree.build([]))).toBe(vectors.get('empty'));
    expect(bytesToHex(await tree.build([{ key: utf8('a'), value: utf8('1') }]))).toBe(vectors.get('one'));
    for (const n of [100, 1000, 10000]) expect(bytesToHex(await seq(n))).toBe(vectors.get(`seq-${n}`));
    const r = await tree.nodes.root(await seq(10000));
    expect([r.level, r.count]).toEqual([2, 3]);
  });

  it('node bytes and boundary hashes match the examples', () => {
    expect(doc).toContain('`83 00 81 41 61 81 41 31`');
    expect(bytesToHex(buildNode(0, [utf8('a')], [utf8('1')]).bytes)).toBe('8300814161814131');
    expect(bytesToHex(buildNode(0, [], []).bytes)).toBe('83008080');
    expect(boundarySeed(0)).toBe(0x63616673);
    expect(boundarySeed(1)).toBe(0x0198e02c);
    const rows = [...doc.matchAll(/^\| `([^`]+)` \| (\d+) \| (\d+) \| (\d+) \| `([0-9a-f]{8})` \| `([0-9a-f]{8})` \| (yes|no) \|$/gm)];
    expect(rows.length).toBe(5);
    for (const m of rows) {
      const key = utf8(m[1]!);
      const valueBytes = Number(m[2]);
      const level = Number(m[3]);
      const weight = Number(m[4]);
      expect(murmur3(key, boundarySeed(level)).toString(16).padStart(8, '0')).toBe(m[5]);
      expect(boundaryThreshold(weight, entryWeight(key.length, valueBytes)).toString(16).padStart(8, '0')).toBe(m[6]);
      expect(isBoundary(key, level, weight, valueBytes)).toBe(m[7] === 'yes');
    }
  });

  it('the boundary threshold is the exact integer the spec defines', () => {
    // floor(2^32 * (W^3 - (W - w)^3) / 4096^3), in exact integers.
    const exact = (weight: number, w: number): bigint => {
      const a = BigInt(weight);
      const b = BigInt(weight - w);
      return ((a * a * a - b * b * b) << 32n) / 4096n ** 3n;
    };
    // Up to the largest weights the rule can meet: an entry of 8192 + 65536 + 32 after ~27k.
    const cases: [number, number][] = [[17, 17], [65, 65], [4096, 4096], [8256, 8256], [32767, 64], [32767, 8256], [18900, 64], [12345, 97], [100760, 73760], [37017, 33], [131071, 73760]];
    for (let weight = 17; weight < 131072; weight += 997) for (const w of [17, 33, 64, 96, 1000, 8256, 73760]) if (w <= weight) cases.push([weight, w]);
    for (const [weight, w] of cases) expect(BigInt(boundaryThreshold(weight, w))).toBe(exact(weight, w));
  });
});
