// gc(): @cafs/repo does not export it from its entry point yet, so it is loaded from the
// module next to it. (Needed from @cafs/repo: `export { gc, pin, unpin, type GcOptions, type GcReport }`.)
import type { Repo } from '@cafs/repo';

export interface GcReport {
  mode: 'full' | 'incremental';
  fallback?: string | undefined;
  dryRun: boolean;
  blobsDeleted: number;
  bytesDeleted: number;
  blobsKept: number;
  blobsProtected: number;
  candidates: number;
  rootsRetained: number;
  commitsRetained: number;
  durationMs: number;
}

export type GcFn = (
  repo: Repo,
  options: { mode?: 'full' | 'incremental'; keepLast?: number | undefined; dryRun?: boolean; graceMs?: number },
) => Promise<GcReport>;

export async function loadGc(): Promise<GcFn> {
  const entry = import.meta.resolve('@cafs/repo');
  const mod = (await import(new URL('./gc.js', entry).href)) as { gc: GcFn };
  return mod.gc;
}
