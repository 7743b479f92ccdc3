import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { encodeInfo, encodeExtent } from '../src/index.js';
import { hex, newFs, text, xorshift32Bytes } from './helpers.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/format.md', import.meta.url)), 'utf8');
const vectors = new Map<string, string>();
for (const m of doc.matchAll(/^\| `(fs-[a-z0-9-]+)` \| .* \| `([0-9a-f]{64})` \|$/gm)) vectors.set(m[1]!, m[2]!);


describe('docs/format.md filesystem vectors', () => {
  it('roots match byte for byte', async () => {
    expect([...vectors.keys()]).toEqual(['fs-empty', 'fs-hello', 'fs-links', 'fs-data']);
    const fs = newFs();
    const empty = await fs.mkfs();
    expect(hex(empty)).toBe(vectors.get('fs-empty'));
    let r = await fs.mkdir(empty, '/docs');
    r = await fs.writeFile(r, '/docs/hello.txt', 'hello world');
    expect(hex(r)).toBe(vectors.get('fs-hello'));
    const linked = await fs.link(r, '/docs/hello.txt', '/a.txt');
    expect(hex(linked)).toBe(vectors.get('fs-links'));
    expect(hex(await fs.unlink(await fs.link(await fs.link(r, '/docs/hello.txt', '/b'), '/b', '/a.txt'), '/b'))).toBe(vectors.get('fs-links'));
    expect(hex(await fs.unlink(linked, '/a.txt'))).toBe(vectors.get('fs-hello'));
    expect(doc).toContain('`' + bytesToHex((await fs.tree.get(linked, text('/a.txt/')))!) + '`');
    expect(doc).toContain('`' + bytesToHex((await fs.tree.get(linked, text('/docs/hello.txt/')))!) + '`');
    r = await fs.writeFile(r, '/data.bin', xorshift32Bytes(200_000, 1));
    r = await fs.truncate(r, '/data.bin', 1_000_000);
    expect(hex(r)).toBe(vectors.get('fs-data'));
    const ends: bigint[] = [];
    for await (const e of fs.tree.entries(r, { gt: text('/data.bin/'), lt: text('/data.bin0') })) {
      ends.push(new DataView(e.key.buffer, e.key.byteOffset + e.key.length - 8).getBigUint64(0));
    }
    expect(ends).toEqual([88486n, 190547n, 200704n]);
  });

  it('info and extent examples match', () => {
    const info = encodeInfo({
      type: 'file',
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      mtimeNs: 1_700_000_000_000_000_000n,
      ctimeNs: 1_700_000_000_000_000_000n,
      size: 11n,
      allocated: 11n,
      target: undefined,
      xattrs: [{ name: text('user.a'), value: Uint8Array.of(1) }],
    });
    expect(doc).toContain('`' + bytesToHex(info) + '`');
    const fifo = encodeInfo({ type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtimeNs: 1_700_000_000_000_000_000n, ctimeNs: 1_700_000_000_000_000_000n, size: 0n, allocated: 0n, target: undefined, xattrs: [] });
    expect(bytesToHex(fifo)).toBe('8a0319018000001b17979cfe362a00001b17979cfe362a00000000f680');
    expect(doc).toContain('`' + bytesToHex(fifo) + '`');
    const t = 1_700_000_000_000_000_000n;
    const big = encodeInfo({ type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtimeNs: t, ctimeNs: t, size: 5n * 2n ** 30n, allocated: 4096n, target: undefined, xattrs: [] });
    expect(doc).toContain('`' + bytesToHex(big) + '`');
    expect(bytesToHex(big)).toContain('1b0000000140000000');
    const old = encodeInfo({ type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeNs: -5_000_000_000n, ctimeNs: -1n, size: 0n, allocated: 0n, target: undefined, xattrs: [] });
    expect(doc).toContain('`' + bytesToHex(old) + '`');
    const dev = encodeInfo({ type: 'chardev', mode: 0o666, uid: 0, gid: 0, mtimeNs: t, ctimeNs: t, size: 0n, allocated: 0n, target: undefined, xattrs: [], rdev: 259 });
    expect(doc).toContain('`' + bytesToHex(dev) + '`');
    const atime = encodeInfo({ type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtimeNs: t, ctimeNs: t, size: 0n, allocated: 0n, target: undefined, xattrs: [], atimeNs: t + 5_000_000_000n });
    expect(doc).toContain('`' + bytesToHex(atime) + '`');
    expect(bytesToHex(encodeExtent({ inline: text('hello world') }))).toBe('4b68656c6c6f20776f726c64');
    expect(doc).toContain('`4b68656c6c6f20776f726c64`');
  });
});
