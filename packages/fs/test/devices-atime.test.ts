// Device nodes (type and device number stored) and access times set explicitly (stored only
// when they differ from the modification time: reads never change a root).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Encoder } from 'cbor-x';
import { bytesToHex } from '@cafs/kv';
import { decodeInfo, devMajor, devMinor, encodeInfo, makedev, type Info } from '../src/index.js';
import { codeOf, hex, newFs, text } from './helpers.js';

const T = 1_700_000_000_000_000_000n;
const cborx = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true });

describe('device nodes', () => {
  it('mknod makes character and block devices with their device numbers; they list, rename and unlink', async () => {
    const fs = newFs();
    let root = await fs.mkdir(await fs.mkfs(), '/dev');
    root = await fs.mknod(root, '/dev/null', 'chardev', 0o666, makedev(1, 3));
    root = await fs.mknod(root, '/dev/loop0', 'blockdev', 0o660, makedev(7, 0));
    root = await fs.mknod(root, '/dev/big', 'chardev', 0o600, makedev(4095 + 1, 256 + 5));
    const n = await fs.lstat(root, '/dev/null');
    expect(n.isCharacterDevice()).toBe(true);
    expect(n.isBlockDevice()).toBe(false);
    expect(n.mode).toBe(0o020666);
    expect(n.rdev).toBe(makedev(1, 3));
    const l = await fs.stat(root, '/dev/loop0');
    expect(l.isBlockDevice()).toBe(true);
    expect(l.mode).toBe(0o060660);
    expect(l.rdev).toBe(0x700);
    expect((await fs.lstat(root, '/dev/big')).rdev).toBe(makedev(4096, 261));
    for (const [M, m] of [[0, 0], [1, 3], [4095, 255], [4096, 256], [2 ** 20 - 1, 2 ** 20 - 1]] as const) {
      expect([devMajor(makedev(M, m)), devMinor(makedev(M, m))]).toEqual([M, m]);
    }
    expect(makedev(1, 3)).toBe(0x103);
    expect(await fs.readdir(root, '/dev', { withFileTypes: true })).toMatchObject([
      { name: 'big', type: 'chardev' },
      { name: 'loop0', type: 'blockdev' },
      { name: 'null', type: 'chardev' },
    ]);
    // Not files: no data.
    expect(await codeOf(fs.write(root, '/dev/null', 0, text('x')))).toBe('EINVAL');
    expect(await codeOf(fs.mknod(root, '/dev/null', 'chardev', 0o666, 1))).toBe('EEXIST');
    expect(await codeOf(fs.mknod(root, '/dev/x', 'chardev', 0o666, -1))).toBe('EINVAL');
    expect(await codeOf(fs.mknod(root, '/dev/x', 'chardev', 0o666, 2 ** 60))).toBe('EINVAL');
    expect(await codeOf(fs.mknod(root, '/dev/x', 'fifo', 0o666, 5))).toBe('EINVAL');
    root = await fs.rename(root, '/dev/null', '/null');
    expect((await fs.lstat(root, '/null')).rdev).toBe(makedev(1, 3));
    root = await fs.chmod(root, '/null', 0o600);
    expect((await fs.lstat(root, '/null')).rdev).toBe(makedev(1, 3));
    root = await fs.unlink(root, '/null');
    expect(await codeOf(fs.lstat(root, '/null'))).toBe('ENOENT');
    // The same devices made in another order give the same root.
    let other = await fs.mkdir(await fs.mkfs(), '/dev');
    other = await fs.mknod(other, '/dev/big', 'chardev', 0o600, makedev(4096, 261));
    other = await fs.mknod(other, '/dev/loop0', 'blockdev', 0o660, makedev(7, 0));
    expect(hex(other)).toBe(hex(root));
  });

  it('the record: 12 elements (atime or null, then rdev), byte for byte what cbor-x writes', () => {
    const dev: Info = { type: 'chardev', mode: 0o666, uid: 0, gid: 0, mtimeNs: T, ctimeNs: T, size: 0n, allocated: 0n, target: undefined, xattrs: [], rdev: 259 };
    const bytes = encodeInfo(dev);
    expect(bytesToHex(bytes)).toBe('8c051901b600001b17979cfe362a00001b17979cfe362a00000000f680f6190103');
    expect(bytesToHex(cborx.encode([5, 0o666, 0, 0, T, T, 0, 0, null, [], null, 259]))).toBe(bytesToHex(bytes));
    expect(decodeInfo(bytes)).toEqual(dev);
    const block = encodeInfo({ ...dev, type: 'blockdev', rdev: 0, atimeNs: T + 1n });
    expect(decodeInfo(block)).toMatchObject({ type: 'blockdev', rdev: 0, atimeNs: T + 1n });
    // A device record must have 12 elements, and only a device record may.
    expect(() => decodeInfo(cborx.encode([5, 0o666, 0, 0, T, T, 0, 0, null, []]))).toThrow(/fields/);
    expect(() => decodeInfo(cborx.encode([1, 0o666, 0, 0, T, T, 0, 0, null, [], null, 3]))).toThrow(/fields/);
  });
});

describe('access times', () => {
  it('utimes stores the access time; one equal to mtime is not stored (the same root as never set)', async () => {
    let clock = T;
    const fs = newFs({ now: () => (clock += 1000n) });
    const base = await fs.writeFile(await fs.mkfs(), '/f', 'data');
    const m = (await fs.lstat(base, '/f')).mtimeNs;
    expect((await fs.lstat(base, '/f')).atimeNs).toBe(m);
    // Under a clock that stands still (ctime unchanged), setting atime = mtime changes nothing.
    const still = newFs();
    const plain = await still.writeFile(await still.mkfs(), '/f', 'data');
    expect(hex(await still.utimes(plain, '/f', T, T))).toBe(hex(plain));
    expect(hex(await still.utimes(plain, '/f', T + 1n, T))).not.toBe(hex(plain));
    const set = await fs.utimes(base, '/f', T, m);
    const st = await fs.lstat(set, '/f');
    expect(m).not.toBe(T);
    expect(st.atimeNs).toBe(T);
    expect(st.mtimeNs).toBe(m);
    expect(st.atime.getTime()).toBe(Number(T / 1_000_000n));
    // Reads change nothing.
    await fs.readFile(set, '/f');
    expect((await fs.lstat(set, '/f')).atimeNs).toBe(T);
    // Only the modification time (touch -m): the access time stays as it reads.
    const onlyM = await fs.utimes(set, '/f', undefined, 5n);
    expect(await fs.lstat(onlyM, '/f')).toMatchObject({ atimeNs: T, mtimeNs: 5n });
    // Only the access time (touch -a).
    const onlyA = await fs.lutimes(base, '/f', 7n, undefined);
    expect(await fs.lstat(onlyA, '/f')).toMatchObject({ atimeNs: 7n, mtimeNs: m });
    // A write moves mtime and keeps a stored access time.
    const written = await fs.writeFile(set, '/f', 'more data');
    const w = await fs.lstat(written, '/f');
    expect(w.atimeNs).toBe(T);
    expect(w.mtimeNs).not.toBe(m);
    // The record: 11 elements with the access time last.
    const info: Info = { type: 'file', mode: 0o644, uid: 1000, gid: 1000, mtimeNs: T, ctimeNs: T, size: 0n, allocated: 0n, target: undefined, xattrs: [], atimeNs: T + 5_000_000_000n };
    const bytes = encodeInfo(info);
    expect(bytesToHex(bytes)).toBe('8b011901a41903e81903e81b17979cfe362a00001b17979cfe362a00000000f6801b17979cff602ff200');
    expect(bytesToHex(cborx.encode([1, 0o644, 1000, 1000, T, T, 0, 0, null, [], T + 5_000_000_000n]))).toBe(bytesToHex(bytes));
    expect(decodeInfo(bytes)).toEqual(info);
    expect(bytesToHex(encodeInfo({ ...info, atimeNs: T }))).toBe(bytesToHex(encodeInfo({ ...info, atimeNs: undefined })));
  });

  it('any sequence of time changes reads as a model and gives the root of setting the final times at once', async () => {
    const time = fc.option(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 62n }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(time, time, fc.boolean()), { maxLength: 12 }), async (ops) => {
        const fs = newFs();
        const start = await fs.writeFile(await fs.mkfs(), '/f', 'x');
        let root = start;
        const st0 = await fs.lstat(root, '/f');
        let model = { atimeNs: st0.atimeNs, mtimeNs: st0.mtimeNs };
        for (const [a, m, write] of ops) {
          if (write) {
            root = await fs.write(root, '/f', 0, text('y'));
            // A write moves mtime; an access time never set explicitly follows it.
            const after = await fs.lstat(root, '/f');
            model = { atimeNs: model.atimeNs === model.mtimeNs ? after.mtimeNs : model.atimeNs, mtimeNs: after.mtimeNs };
          } else {
            root = await fs.utimes(root, '/f', a, m);
            model = { atimeNs: a ?? model.atimeNs, mtimeNs: m ?? model.mtimeNs };
          }
          const st = await fs.lstat(root, '/f');
          expect({ atimeNs: st.atimeNs, mtimeNs: st.mtimeNs }).toEqual(model);
        }
        // Canonical: the same content and times, however reached, give the same root.
        const direct = await fs.utimes(await fs.writeFile(await fs.mkfs(), '/f', await fs.readFile(root, '/f')), '/f', model.atimeNs, model.mtimeNs);
        expect(hex(direct)).toBe(hex(root));
      }),
      { numRuns: 60 },
    );
  });
});
