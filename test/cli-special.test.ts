// Device nodes and named pipes through `cafs import` and `cafs export`, as tar keeps them
// (issue 21): type, device number and mode survive the round trip. Making devices needs root.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cafs, run } from './run-cafs.js';

const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'cafs-special-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const statOf = async (p: string): Promise<string> => (await run('stat', ['-c', '%F %t:%T %a', p])).stdout.trim();

describe.skipIf(!isRoot)('device nodes and pipes through import and export', () => {
  it('import keeps type, device number and mode; export makes them again', async () => {
    const src = join(work, 'src');
    mkdirSync(join(src, 'dev'), { recursive: true });
    writeFileSync(join(src, 'file.txt'), 'text');
    await run('mknod', ['-m', '620', join(src, 'dev/tty9'), 'c', '4', '9']);
    await run('mknod', ['-m', '660', join(src, 'dev/loop7'), 'b', '7', '7']);
    await run('mknod', ['-m', '600', join(src, 'dev/fifo'), 'p']);
    expect((await cafs(work, 'init')).code).toBe(0);
    const imp = await cafs(work, 'import', src, '-m', 'devices');
    expect(imp.code).toBe(0);
    const ls = await cafs(work, 'ls', '-l', 'main:/dev');
    expect(ls.stdout).toMatch(/^c.*tty9$/m);
    expect(ls.stdout).toMatch(/^b.*loop7$/m);
    expect(ls.stdout).toMatch(/^p.*fifo$/m);
    const out = join(work, 'out');
    const exp = await cafs(work, 'export', 'main', out, '--devices');
    expect(exp.code).toBe(0);
    expect(await statOf(join(out, 'dev/tty9'))).toBe('character special file 4:9 620');
    expect(await statOf(join(out, 'dev/loop7'))).toBe('block special file 7:7 660');
    expect(await statOf(join(out, 'dev/fifo'))).toBe('fifo 0:0 600');
    // Exporting again over what is there: nothing differs, nothing is refused.
    expect((await cafs(work, 'export', 'main', out, '--devices')).code).toBe(0);
    // Without --devices they are left out (a tree from elsewhere must not open a disk to everyone).
    const plain = join(work, 'plain');
    expect((await cafs(work, 'export', 'main', plain)).code).toBe(0);
    expect(await statOf(join(plain, 'dev/fifo'))).toBe('fifo 0:0 600');
    await expect(statOf(join(plain, 'dev/tty9'))).rejects.toThrow();
    // A changed device number is a difference a diff shows.
    rmSync(join(src, 'dev/tty9'));
    await run('mknod', ['-m', '620', join(src, 'dev/tty9'), 'c', '4', '10']);
    await cafs(work, 'import', src, '-m', 'tty9 moved');
    const diff = await cafs(work, 'diff', 'main~1', 'main');
    expect(diff.stdout).toContain('diff --cafs a/dev/tty9 b/dev/tty9\nold device 4:9\nnew device 4:10');
    expect((await cafs(work, 'ls', '-l', 'main:/dev')).stdout).toMatch(/^crw--w---- .* 4, 10 .* tty9$/m);
  });
});
