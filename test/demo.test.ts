// End to end: the README's run command (`pnpm start`) runs the built demo; check what it prints.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('pnpm start (the kv demo)', () => {
  it('loads, edits, diffs and shows both versions', async () => {
    const { stdout } = await run(process.execPath, ['packages/kv/dist/demo.js'], { cwd: root });
    expect(stdout).toMatch(/bulk-loaded 200,000 entries .* -> root [0-9a-f]{16}/);
    expect(stdout).toMatch(/applied 10,000 edits/);
    expect(stdout).toContain('user/0007919 was {"id":7919,"name":"user 7919"}, is {"id":7919,"v":2}');
    expect(stdout).toContain('returns to the same root: true');
    expect(stdout).toMatch(/diff v1\.\.v2: 6666 changed, 3334 removed, 0 added/);
    expect(stdout).toContain('first three keys from user/0100000: user/0100000, user/0100001, user/0100002');
    expect(stdout).toContain('empty tree root: 3510d537a3a301739cad5db00710d31dd68f0e5b188d9ab8282aa42f37d42be0');
  });
});

describe('pnpm start (the repository tour)', () => {
  it('writes through a drive, branches, merges by range, logs and diffs', async () => {
    const { stdout } = await run(process.execPath, ['packages/repo/dist/demo.js'], { cwd: root });
    expect(stdout).toMatch(/main: committed [0-9a-f]{12}, root [0-9a-f]{12}/);
    expect(stdout).toMatch(/merge feature into main: 0 conflicts, commit [0-9a-f]{12}/);
    expect(stdout).toContain('merged README: "# demo\\nfeature notes\\n"');
    expect(stdout).toContain('merged util.js: "export const answer = 43;\\n"');
    expect(stdout).toContain('merged data.bin bytes at 3000000: 1,2,3');
    expect(stdout).toMatch(/\(merge\) merge feature\n.*main: bump the answer\n.*feature: notes and a patch in data.bin\n.*add sources and data\n.*init/);
    expect(stdout).toMatch(/change \/README.md bytes 0-21/);
    expect(stdout).toMatch(/change \/data.bin bytes \d+-\d+/);
    expect(stdout).toContain('main~2 still reads util.js as "export const answer = 42;\\n"');
  });
});
