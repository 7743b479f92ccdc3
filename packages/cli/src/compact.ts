// After `cafs gc`: LevelDB keeps deleted blobs' bytes on disk (as tombstones over old tables)
// until a compaction rewrites them; compacting the whole key range gives the space back.
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelBlobStore } from '@cafs/kv';
import { GcGuard, type Repo } from '@cafs/repo';

/** The total size in bytes of the files under `dir` (symbolic links not followed). */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else total += (await lstat(p).catch(() => undefined))?.size ?? 0; // a file LevelDB just removed
  }
  return total;
}

interface Compactable {
  compactRange(start: Uint8Array, end: Uint8Array, options: { keyEncoding: string }): Promise<void>;
}

/** Compacts the repository's LevelDB (every key), when it is one; false for other stores. */
export async function compactStore(repo: Repo): Promise<boolean> {
  const inner = repo.store instanceof GcGuard ? repo.store.inner : repo.store;
  if (!(inner instanceof LevelBlobStore)) return false;
  const db = inner.db as unknown as Partial<Compactable>;
  if (typeof db.compactRange !== 'function') return false;
  // Every key is a sublevel's (`!blobs!...`, `!names!...`): all sort between these two.
  await db.compactRange(new Uint8Array(0), new Uint8Array(8).fill(0xff), { keyEncoding: 'view' });
  return true;
}
