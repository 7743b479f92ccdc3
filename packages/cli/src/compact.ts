// After `cafs gc`: LevelDB keeps deleted blobs' bytes on disk (as tombstones over old tables)
// until a compaction rewrites them; compacting the whole key range gives the space back. A
// compressed or encrypted repository is compacted beneath its codec: LevelDB rewrites the stored
// values (frames, sealed bytes) as they are, nothing is decoded or encoded again.
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { CodecBlobStore, LevelBlobStore } from '@cafs/kv';
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

/** The LevelDB store beneath a repository's guard and codec, or undefined (memory, Redis, held). */
export function levelStoreOf(repo: Repo): LevelBlobStore | undefined {
  let inner: unknown = repo.store instanceof GcGuard ? repo.store.inner : repo.store;
  if (inner instanceof CodecBlobStore) inner = inner.raw;
  return inner instanceof LevelBlobStore ? inner : undefined;
}

/**
 * Compacts the repository's LevelDB (every key), when it is one; false for other stores. Under
 * a codec, the raw store's: stored bytes are copied as they are.
 */
export async function compactStore(repo: Repo): Promise<boolean> {
  const inner = levelStoreOf(repo);
  if (inner === undefined) return false;
  const db = inner.db as unknown as Partial<Compactable>;
  if (typeof db.compactRange !== 'function') return false;
  // Every key is a sublevel's (`!blobs!...`, `!names!...`): all sort between these two.
  await db.compactRange(new Uint8Array(0), new Uint8Array(8).fill(0xff), { keyEncoding: 'view' });
  return true;
}
