import { describe, expect, it } from 'vitest';
import { FsError } from '../src/index.js';
import { plainInfoKey } from '../src/resolve.js';
import { codeOf, newFs, text } from './helpers.js';

describe('FsError', () => {
  it("reads like Node's errors: message, name, stack header, no frames; message can be assigned", () => {
    const e = new FsError('ENOENT', 'stat', '/a/b');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('FsError');
    expect(e.message).toBe("ENOENT: no such file or directory, stat '/a/b'");
    expect(String(e)).toBe("FsError: ENOENT: no such file or directory, stat '/a/b'");
    expect(e.stack).toBe("FsError: ENOENT: no such file or directory, stat '/a/b'");
    expect(new FsError('EINVAL', 'rename', '/x', 'bad', '/y').message).toBe("EINVAL: bad, rename '/x' -> '/y'");
    expect(new FsError('EBUSY', 'batch').message).toBe('EBUSY: resource busy or locked, batch');
    e.message = 'changed';
    expect(e.message).toBe('changed');
    expect(e.code).toBe('ENOENT');
  });
});

describe('stat fast path', () => {
  it('builds the info key of plain paths from strings and bytes alike', () => {
    for (const p of ['/a', '/a/b', '/é/ü', '/x.y/..z/.w']) {
      expect(plainInfoKey(p)).toEqual(plainInfoKey(text(p)));
      expect(plainInfoKey(p)).toEqual(text(p + '/'));
    }
    for (const p of ['', '/', 'a', '/a/', '//a', '/a//b', '/./a', '/a/..', '/a\0b', '/' + 'x'.repeat(256)]) {
      expect(plainInfoKey(p)).toBeUndefined();
      expect(plainInfoKey(text(p))).toBeUndefined();
    }
  });

  it('answers as the full resolution: missing names, files on the way, links, non-ASCII', async () => {
    const fs = newFs();
    let root = await fs.mkfs();
    root = await fs.mkdir(root, '/dé');
    root = await fs.writeFile(root, '/dé/f', 'x');
    root = await fs.symlink(root, '/dé', '/link');
    root = await fs.symlink(root, '/nowhere', '/dangling');
    expect(await codeOf(fs.stat(root, '/missing'))).toBe('ENOENT');
    expect(await codeOf(fs.stat(root, '/dé/missing'))).toBe('ENOENT');
    expect(await codeOf(fs.stat(root, text('/dé/missing')))).toBe('ENOENT');
    expect(await codeOf(fs.stat(root, '/dé/f/x'))).toBe('ENOTDIR');
    expect(await codeOf(fs.stat(root, '/nodir/x'))).toBe('ENOENT');
    expect(await codeOf(fs.stat(root, '/dangling'))).toBe('ENOENT');
    expect((await fs.lstat(root, '/dangling')).isSymbolicLink()).toBe(true);
    expect((await fs.stat(root, '/link/f')).size).toBe(1n);
    expect((await fs.stat(root, '/link')).isDirectory()).toBe(true);
    expect(await codeOf(fs.stat(root, '/link/missing'))).toBe('ENOENT');
    const err = await fs.stat(root, '/dé/missing').catch((e: unknown) => e as FsError);
    expect(err.message).toBe("ENOENT: no such file or directory, stat '/dé/missing'");
  });

  it('throwIfNoEntry: false gives undefined for a missing entry (as node:fs statSync), other errors still throw', async () => {
    const fs = newFs();
    let root = await fs.mkfs();
    root = await fs.mkdir(root, '/d');
    root = await fs.writeFile(root, '/d/f', 'xy');
    root = await fs.symlink(root, '/nowhere', '/dangling');
    root = await fs.symlink(root, '/d', '/link');
    const quiet = { throwIfNoEntry: false } as const;
    for (const p of ['/missing', '/d/missing', '/nodir/x', '/link/missing', text('/d/missing')]) {
      expect(await fs.lstat(root, p, quiet)).toBeUndefined();
      expect(await fs.stat(root, p, quiet)).toBeUndefined();
    }
    expect(await fs.stat(root, '/dangling', quiet)).toBeUndefined();
    expect((await fs.lstat(root, '/dangling', quiet))?.isSymbolicLink()).toBe(true);
    expect((await fs.stat(root, '/link/f', quiet))?.size).toBe(2n);
    expect((await fs.lstat(root, '/d/f', quiet))?.size).toBe(2n);
    expect(await codeOf(fs.lstat(root, '/d/f/x', quiet))).toBe('ENOTDIR');
    // Inside a batch too, seeing the batch's own changes.
    const b = fs.batch(root);
    await b.unlink('/d/f');
    await b.writeFile('/d/g', 'z');
    expect(await b.lstat('/d/f', quiet)).toBeUndefined();
    expect((await b.lstat('/d/g', quiet))?.size).toBe(1n);
  });
});
