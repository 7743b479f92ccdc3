// The sweep of a collection: deletes the doomed blobs, dropped commits before anything else, so
// that a collection stopped at any instant never leaves a stored commit whose tree is partly
// gone (a commit is only reachable through a link the collection has cut, but a user may name
// it by hash).
import { bytesToHex, type Hash } from '@cafs/kv';
import { looksLikeCommit } from './commit.js';
import { tryGet } from './tree-walk.js';
import type { GcGuard } from './gc-guard.js';
import type { GcOptions, GcProgress, Plan } from './gc-types.js';
import type { Repo } from './repo.js';

export interface SweepResult {
  blobsDeleted: number;
  bytesDeleted: number;
  blobsProtected: number;
  /** Hex of the deleted blobs, with `listDeleted`. */
  deleted: string[];
}

const READ_BATCH = 1024;
const DELETE_BATCH = 1024;

export async function sweep(
  repo: Repo,
  plan: Plan,
  guard: GcGuard | undefined,
  options: Pick<GcOptions, 'dryRun' | 'listDeleted' | 'signal'> & { onProgress?: ((p: GcProgress) => void) | undefined },
): Promise<SweepResult> {
  const dryRun = options.dryRun === true;
  const res: SweepResult = { blobsDeleted: 0, bytesDeleted: 0, blobsProtected: 0, deleted: [] };
  const all = [...plan.doomed.values()];
  const total = all.length;
  options.onProgress?.({ phase: 'sweep', done: 0, total });

  // Sizes (for the report) and kinds: a blob the plan sized is a node; others are read.
  const sizes = new Map<string, number>();
  const commits: Hash[] = [];
  const rest: Hash[] = [];
  for (let i = 0; i < all.length; i += READ_BATCH) {
    options.signal?.throwIfAborted();
    const batch = all.slice(i, i + READ_BATCH);
    await Promise.all(
      batch.map(async (h) => {
        const id = bytesToHex(h);
        const known = plan.sizes?.get(id);
        if (known !== undefined) {
          sizes.set(id, known);
          rest.push(h);
          return;
        }
        const bytes = await tryGet(repo.store, h);
        sizes.set(id, bytes?.length ?? 0);
        (bytes !== undefined && looksLikeCommit(bytes) ? commits : rest).push(h);
      }),
    );
  }

  let done = 0;
  const remove = async (list: Hash[]): Promise<void> => {
    for (let i = 0; i < list.length; i += DELETE_BATCH) {
      options.signal?.throwIfAborted();
      const batch = list.slice(i, i + DELETE_BATCH);
      let gone: Hash[];
      if (guard === undefined) {
        gone = batch;
        if (!dryRun) await repo.store.delete(batch);
      } else if (dryRun) {
        gone = batch.filter((h) => !guard.isProtected(bytesToHex(h)));
      } else {
        gone = await guard.sweep(batch);
      }
      res.blobsProtected += batch.length - gone.length;
      res.blobsDeleted += gone.length;
      for (const h of gone) {
        const id = bytesToHex(h);
        res.bytesDeleted += sizes.get(id)!;
        if (options.listDeleted) res.deleted.push(id);
      }
      done += batch.length;
      options.onProgress?.({ phase: 'sweep', done, total });
    }
  };
  await remove(commits);
  await remove(rest);
  return res;
}
