import { describe, expect, it } from 'vitest';
import { MAX_FILE_SIZE } from '../src/index.js';
import { bytes, codeOf, hex, newFs, text } from './helpers.js';

const EiB = 2n ** 60n;

describe('sparse files', () => {
  it('a 1 EiB file costs O(1) space; far-apart writes; reads across holes', async () => {
    const fs = newFs();
    let root = await fs.writeFile(await fs.mkfs(), '/huge', '');
    let blobs = 0;
    for await (const _ of fs.store.hashes()) blobs++;
    root = await fs.truncate(root, '/huge', EiB);
    let after = 0;
    for await (const _ of fs.store.hashes()) after++;
    expect(after - blobs).toBeLessThanOrEqual(3);
    let st = await fs.stat(root, '/huge');
    expect(st.size).toBe(EiB);
    expect(st.blocks).toBe(0n);

    const a = bytes(100_000, 1);
    const b = text('the end');
    root = await fs.write(root, '/huge', 12_345n, a);
    root = await fs.write(root, '/huge', EiB / 2n, a);
    root = await fs.write(root, '/huge', EiB - 7n, b);
    st = await fs.stat(root, '/huge');
    expect(st.size).toBe(EiB);
    expect(st.blocks).toBeLessThan(1000n);
    // Across a hole into data and out again.
    const r = await fs.read(root, '/huge', { offset: EiB / 2n - 10n, length: 100_020 });
    expect(r.subarray(0, 10).every((x) => x === 0)).toBe(true);
    expect(Buffer.from(r.subarray(10, 100_010)).equals(Buffer.from(a))).toBe(true);
    expect(r.subarray(100_010).every((x) => x === 0)).toBe(true);
    expect(new TextDecoder().decode(await fs.read(root, '/huge', { offset: EiB - 7n, length: 100 }))).toBe('the end');
    const head = await fs.read(root, '/huge', { offset: 0, length: 12_345 + 100_000 + 5 });
    expect(head.subarray(0, 12_345).every((x) => x === 0)).toBe(true);
    expect(Buffer.from(head.subarray(12_345, 112_345)).equals(Buffer.from(a))).toBe(true);
    // Streaming a window that is mostly hole.
    let total = 0;
    for await (const piece of fs.stream(root, '/huge', { start: EiB - 300_000n })) total += piece.length;
    expect(total).toBe(300_000);
    // Shrinking back drops what lies beyond.
    root = await fs.truncate(root, '/huge', 20_000);
    expect((await fs.stat(root, '/huge')).size).toBe(20_000n);
    expect(Buffer.from(await fs.readFile(root, '/huge')).equals(Buffer.concat([Buffer.alloc(12_345), Buffer.from(a.subarray(0, 20_000 - 12_345))]))).toBe(true);
  });

  it('writing zeros makes holes: explicit zeros and a hole are the same file', async () => {
    const fs = newFs();
    const base = await fs.mkfs();
    const zeros = new Uint8Array(1024 * 1024);
    const explicit = await fs.writeFile(base, '/z', zeros);
    const sparse = await fs.truncate(await fs.writeFile(base, '/z', ''), '/z', zeros.length);
    expect(hex(explicit)).toBe(hex(sparse));
    expect((await fs.stat(explicit, '/z')).blocks).toBe(0n);
  });
});

describe('bad input gets a typed error and leaves the root unchanged', () => {
  it('paths, names, offsets and types', async () => {
    const fs = newFs();
    let root = await fs.mkfs();
    root = await fs.writeFile(root, '/file', 'x');
    root = await fs.mkdir(root, '/dir');
    root = await fs.writeFile(root, '/dir/inner', 'y');
    const cases: [() => Promise<unknown>, string][] = [
      [() => fs.writeFile(root, '/a/../..', 'x'), 'ENOENT'],
      [() => fs.writeFile(root, '/dir/../..', 'x'), 'EISDIR'],
      [() => fs.mkdir(root, '/bad\0name'), 'EINVAL'],
      [() => fs.writeFile(root, '', 'x'), 'ENOENT'],
      [() => fs.writeFile(root, '/' + 'n'.repeat(256), 'x'), 'ENAMETOOLONG'],
      [() => fs.writeFile(root, '/' + 'd/'.repeat(2100) + 'f', 'x'), 'ENAMETOOLONG'],
      [() => fs.writeFile(root, '/file/under', 'x'), 'ENOTDIR'],
      [() => fs.mkdir(root, '/file/sub'), 'ENOTDIR'],
      [() => fs.rmdir(root, '/dir'), 'ENOTEMPTY'],
      [() => fs.rmdir(root, '/file'), 'ENOTDIR'],
      [() => fs.unlink(root, '/dir'), 'EISDIR'],
      [() => fs.write(root, '/file', -1, text('x')), 'EINVAL'],
      [() => fs.write(root, '/file', 1.5, text('x')), 'EINVAL'],
      [() => fs.write(root, '/file', MAX_FILE_SIZE, text('xy')), 'EFBIG'],
      [() => fs.truncate(root, '/file', -5), 'EINVAL'],
      [() => fs.truncate(root, '/file', MAX_FILE_SIZE + 1n), 'EFBIG'],
      [() => fs.read(root, '/file', { offset: -1 }), 'EINVAL'],
      [() => fs.readFile(root, '/dir'), 'EISDIR'],
      [() => fs.readFile(root, '/missing'), 'ENOENT'],
      [() => fs.rename(root, '/dir', '/dir/inner2'), 'EINVAL'],
      [() => fs.rename(root, '/dir', '/file'), 'ENOTDIR'],
      [() => fs.rename(root, '/file', '/dir'), 'EISDIR'],
      [() => fs.mkdir(root, '/dir'), 'EEXIST'],
      [() => fs.chmod(root, '/file', 0o17777), 'EINVAL'],
      [() => fs.readlink(root, '/file'), 'EINVAL'],
      [() => fs.getxattr(root, '/file', 'user.none'), 'ENODATA'],
      [() => fs.setxattr(root, '/file', 'user.big', new Uint8Array(70_000)), 'E2BIG'],
      [() => fs.rm(root, '/dir'), 'EISDIR'],
      [() => fs.rmdir(root, '/'), 'EBUSY'],
    ];
    for (const [op, code] of cases) expect([op.toString(), await codeOf(op())]).toEqual([op.toString(), code]);
    expect(await codeOf(fs.rm(root, '/nothing', { force: true }))).toBeUndefined();
    expect(hex(await fs.rm(root, '/nothing', { force: true }))).toBe(hex(root));
  });

  it('symbolic link loops are ELOOP; links resolve like Linux', async () => {
    const fs = newFs();
    let root = await fs.mkfs();
    root = await fs.symlink(root, '/loop2', '/loop1');
    root = await fs.symlink(root, '/loop1', '/loop2');
    expect(await codeOf(fs.stat(root, '/loop1'))).toBe('ELOOP');
    expect((await fs.lstat(root, '/loop1')).isSymbolicLink()).toBe(true);
    root = await fs.mkdir(root, '/real/sub', { recursive: true });
    root = await fs.writeFile(root, '/real/sub/f', 'data');
    root = await fs.symlink(root, 'real/sub', '/rel');
    root = await fs.symlink(root, '../f', '/real/sub/up');
    expect(new TextDecoder().decode(await fs.readFile(root, '/rel/f'))).toBe('data');
    expect(new TextDecoder().decode(await fs.readFile(root, '/rel/../sub/f'))).toBe('data');
    expect(await codeOf(fs.readFile(root, '/rel/../real/sub/f'))).toBe('ENOENT');
    expect(await codeOf(fs.readFile(root, '/real/sub/up'))).toBe('ENOENT');
    expect(await fs.readdir(root, '/rel')).toEqual(['f', 'up']);
    // Writing through a link writes the target.
    root = await fs.writeFile(root, '/rel/f', 'new');
    expect(new TextDecoder().decode(await fs.readFile(root, '/real/sub/f'))).toBe('new');
  });

  it('a batch applies many operations into one root; reads inside it see its writes', async () => {
    const fs = newFs();
    const b = fs.batch(await fs.mkfs());
    await b.mkdir('/x');
    await b.writeFile('/x/1', 'one');
    expect(new TextDecoder().decode(await b.readFile('/x/1'))).toBe('one');
    await b.rename('/x', '/y');
    expect(await b.readdir('/y')).toEqual(['1']);
    await b.rm('/y', { recursive: true });
    await b.mkdir('/y');
    await b.writeFile('/y/2', 'two');
    const root = await b.flush();
    expect(await fs.readdir(root, '/')).toEqual(['y']);
    expect(await fs.readdir(root, '/y')).toEqual(['2']);
    expect(await codeOf(b.mkdir('/late'))).toBe('EINVAL');
  });
});

describe("stat's fast path agrees with full resolution", () => {
  it('plain, dotted, doubled-slash, trailing-slash and linked paths', async () => {
    const fs = newFs();
    let root = await fs.mkfs();
    root = await fs.mkdir(root, '/d/e', { recursive: true });
    root = await fs.writeFile(root, '/d/e/f', 'x');
    root = await fs.writeFile(root, '/file', 'y');
    root = await fs.symlink(root, '/d/e', '/link');
    root = await fs.symlink(root, '/nowhere', '/dangling');
    const kind = async (p: string, follow = true) => {
      try {
        return (follow ? await fs.stat(root, p) : await fs.lstat(root, p)).type;
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    expect(await kind('/d/e/f')).toBe('file');
    expect(await kind('/d/./e/f')).toBe('file');
    expect(await kind('//d//e/f')).toBe('file');
    expect(await kind('/d/e/../e/f')).toBe('file');
    expect(await kind('/d/e/')).toBe('directory');
    expect(await kind('/file/')).toBe('ENOTDIR');
    expect(await kind('/file/x')).toBe('ENOTDIR');
    expect(await kind('/link/f')).toBe('file');
    expect(await kind('/link')).toBe('directory');
    expect(await kind('/link', false)).toBe('symlink');
    expect(await kind('/dangling')).toBe('ENOENT');
    expect(await kind('/dangling', false)).toBe('symlink');
    expect(await kind('/missing')).toBe('ENOENT');
    expect(await kind('/d/missing')).toBe('ENOENT');
    expect(await kind('/missing/deeper')).toBe('ENOENT');
    expect(await kind('/link/missing')).toBe('ENOENT');
    expect(await kind('/')).toBe('directory');
  });
});
