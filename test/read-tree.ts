// Test helper: reads every file of a root to the end, checking each length against its listing.
import { expect } from 'vitest';
import type { Repo } from '../packages/repo/dist/index.js';

/** Reads every file under `dir` of `root`; returns how many files it read. */
export async function readTree(repo: Repo, root: Uint8Array, dir = '/'): Promise<number> {
  let n = 0;
  for (const d of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
    const path = (dir === '/' ? '' : dir) + '/' + d.name;
    if (d.type === 'directory') n += await readTree(repo, root, path);
    else if (d.type === 'file') {
      expect((await repo.fs.read(root, path)).length).toBe(Number(d.size));
      n++;
    }
  }
  return n;
}
