import fc from 'fast-check';
import { Encoder, decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { bytesToHex, compareBytes } from '../src/bytes.js';
import { buildNode, decodeNode } from '../src/tree/node.js';
import { murmur3 } from '../src/tree/murmur3.js';

const cbor = new Encoder({ tagUint8Array: false, useRecords: false });

const nodeArb = fc
  .tuple(
    fc.integer({ min: 0, max: 30 }),
    fc.uniqueArray(fc.uint8Array({ maxLength: 300 }), { maxLength: 40, selector: (k) => bytesToHex(k) }),
  )
  .chain(([level, keys]) =>
    fc.tuple(
      fc.constant(level),
      fc.constant([...keys].sort(compareBytes)),
      fc.array(level === 0 ? fc.uint8Array({ maxLength: 70_000 / 40 }) : fc.uint8Array({ minLength: 32, maxLength: 32 }), {
        minLength: keys.length,
        maxLength: keys.length,
      }),
    ),
  )
  .filter(([level, keys]) => level === 0 || keys.length > 0);

describe('node codec', () => {
  it('encodes exactly as cbor-x encodes [level, keys, values], and decodes back', () => {
    fc.assert(
      fc.property(nodeArb, ([level, keys, values]) => {
        const node = buildNode(level, keys, values);
        const reference = cbor.encode([level, keys.map((k) => Buffer.from(k)), values.map((v) => Buffer.from(v))]);
        expect(bytesToHex(node.bytes)).toBe(bytesToHex(reference));
        const back = decodeNode(node.hash, node.bytes);
        expect(back.level).toBe(level);
        expect(back.count).toBe(keys.length);
        for (let i = 0; i < keys.length; i++) {
          expect(bytesToHex(back.key(i))).toBe(bytesToHex(keys[i]!));
          expect(bytesToHex(back.value(i))).toBe(bytesToHex(values[i]!));
        }
        const viaCborX = decode(node.bytes) as [number, Uint8Array[], Uint8Array[]];
        expect(viaCborX[0]).toBe(level);
        expect(viaCborX[1].map((k) => bytesToHex(k))).toEqual(keys.map((k) => bytesToHex(k)));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects non-canonical and malformed encodings', () => {
    const h = new Uint8Array(32);
    const bad = (hexBytes: string) => () => decodeNode(h, Uint8Array.from(Buffer.from(hexBytes, 'hex')));
    const err = expect.objectContaining({ code: 'ERR_CORRUPT_NODE' });
    expect(bad('830080')).toThrow(err); // truncated
    expect(bad('8300808000')).toThrow(err); // trailing byte
    expect(bad('83180080' + '80')).toThrow(err); // level 0 not in shortest form
    expect(bad('82008080')).toThrow(err); // two items
    expect(bad('a0')).toThrow(err); // a map
    expect(bad('83009f41619f41629f')).toThrow(err); // indefinite length
    expect(bad('830081416181')).toThrow(err); // truncated values
    expect(bad('8300824162416182416141')).toThrow(err); // keys out of order
    expect(bad('830181416181416a')).toThrow(err); // inner node value not a hash
    expect(bad('83018080')).toThrow(err); // empty inner node
    expect(decodeNode(h, Uint8Array.from([0x83, 0x00, 0x80, 0x80])).count).toBe(0);
  });
});

describe('murmur3', () => {
  it('matches the reference MurmurHash3_x86_32 vectors', () => {
    const b = (s: string) => new TextEncoder().encode(s);
    expect(murmur3(b(''), 0)).toBe(0);
    expect(murmur3(b(''), 1)).toBe(0x514e28b7);
    expect(murmur3(b(''), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3(Uint8Array.from([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0x76293b50);
    expect(murmur3(Uint8Array.from([0x21, 0x43, 0x65, 0x87]), 0)).toBe(0xf55b516b);
    expect(murmur3(Uint8Array.from([0x21, 0x43, 0x65, 0x87]), 0x5082edee)).toBe(0x2362f9de);
    expect(murmur3(Uint8Array.from([0x21, 0x43, 0x65]), 0)).toBe(0x7e4a8634);
    expect(murmur3(Uint8Array.from([0x21, 0x43]), 0)).toBe(0xa0f7b07a);
    expect(murmur3(Uint8Array.from([0x21]), 0)).toBe(0x72661cf4);
    expect(murmur3(b('Hello, world!'), 1234)).toBe(0xfaf6cdb3);
    expect(murmur3(b('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });
});
