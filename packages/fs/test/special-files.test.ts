import { describe, expect, it } from 'vitest';
import { decodeInfo, encodeInfo } from '../src/index.js';
import { codeOf, newFs, text } from './helpers.js';

describe('named pipes and sockets', () => {
  it('mknod makes typed entries with metadata and no data; they list, rename and unlink like files', async () => {
    const fs = newFs();
    let root = await fs.mkdir(await fs.mkfs(), '/d');
    root = await fs.mknod(root, '/d/pipe', 'fifo', 0o600);
    root = await fs.mknod(root, '/d/sock', 'socket', 0o755);
    const p = await fs.lstat(root, '/d/pipe');
    expect(p.isFIFO()).toBe(true);
    expect(p.isFile()).toBe(false);
    expect(p.mode).toBe(0o010600);
    expect(p.size).toBe(0n);
    const s = await fs.stat(root, '/d/sock');
    expect(s.isSocket()).toBe(true);
    expect(s.mode).toBe(0o140755);
    expect(await fs.readdir(root, '/d', { withFileTypes: true })).toMatchObject([
      { name: 'pipe', type: 'fifo' },
      { name: 'sock', type: 'socket' },
    ]);
    expect(await codeOf(fs.mknod(root, '/d/pipe', 'fifo'))).toBe('EEXIST');
    expect(await codeOf(fs.mknod(root, '/nope/pipe', 'fifo'))).toBe('ENOENT');
    expect(await codeOf(fs.mknod(root, '/d/x', 'device' as 'fifo'))).toBe('EINVAL');
    expect(await codeOf(fs.write(root, '/d/pipe', 0, text('x')))).toBe('EINVAL');
    expect(await codeOf(fs.truncate(root, '/d/pipe', 10))).toBe('EINVAL');
    root = await fs.chmod(root, '/d/pipe', 0o644);
    expect((await fs.lstat(root, '/d/pipe')).mode).toBe(0o010644);
    root = await fs.rename(root, '/d/pipe', '/pipe2');
    expect((await fs.lstat(root, '/pipe2')).isFIFO()).toBe(true);
    root = await fs.unlink(root, '/pipe2');
    expect(await codeOf(fs.lstat(root, '/pipe2'))).toBe('ENOENT');
  });

  it('the info record: type codes 3 (fifo) and 4 (socket) round-trip', () => {
    for (const type of ['fifo', 'socket'] as const) {
      const info = { type, mode: 0o644, uid: 1, gid: 2, mtimeNs: 5n, ctimeNs: 6n, size: 0n, allocated: 0n, target: undefined, xattrs: [] };
      const bytes = encodeInfo(info);
      expect(bytes[1]).toBe(type === 'fifo' ? 3 : 4);
      expect(decodeInfo(bytes)).toEqual(info);
    }
  });
});
