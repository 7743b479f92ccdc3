// Options and reports of garbage collection (gc.ts), and what its phases pass between them.
import type { Hash } from '@cafs/kv';
import type { GcGuard } from './gc-guard.js';

export type GcMode = 'full' | 'incremental';

export interface GcOptions {
  /** 'incremental' (default) falls back to 'full' when it cannot be exact (see GcReport.fallback). */
  mode?: GcMode | undefined;
  /** Keep the last N commits of each branch's history (newest first, all parents); default all. */
  keepLast?: number | undefined;
  /** Keep the commits of each branch newer than this. With keepLast too, a commit either keeps is kept. */
  keepNewerThan?: Date | undefined;
  /**
   * Reflog entries older than this are removed, and stop keeping their commits (default 30 days;
   * 0 removes them all, Infinity keeps them). keepLast and keepNewerThan prune the reflog too.
   */
  reflogExpireMs?: number | undefined;
  /** More roots (or commits) to keep, besides the 'refs/pins/' names and the guard's held roots. */
  pins?: readonly Hash[] | undefined;
  /** Spare blobs put through the guard less than this long before the collection began (default 60 s). */
  graceMs?: number | undefined;
  /** The write barrier; default: `repo.store` when it is a GcGuard. Without one, no writer may run. */
  guard?: GcGuard | undefined;
  /** Compute what would be deleted, delete nothing (the new state's blobs are still written). */
  dryRun?: boolean | undefined;
  /** Return the deleted (or, in a dry run, deletable) hashes in the report. */
  listDeleted?: boolean | undefined;
  /**
   * Node cache of the collector's own tree reader (default 64 MiB; full collections only, unless
   * given: incremental ones otherwise read through `repo.fs.tree` and its cache).
   */
  cacheBytes?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called as the collection goes: roots marked (full; incremental: 0 then 1 of 1), then blobs swept. */
  onProgress?: ((p: GcProgress) => void) | undefined;
}

/**
 * Where a collection is: the history links it cut, recorded ('cut', once), `done` of `total`
 * roots marked ('mark') or doomed blobs deleted ('sweep', dropped commits first).
 */
export interface GcProgress {
  phase: 'cut' | 'mark' | 'sweep';
  done: number;
  total: number;
}

export interface GcReport {
  /** The mode that ran. */
  mode: GcMode;
  /** Why an incremental collection ran as a full one. */
  fallback?: string | undefined;
  dryRun: boolean;
  blobsDeleted: number;
  bytesDeleted: number;
  /** Size of the live set after the collection (retained commits, their nodes and data, gc state). */
  blobsKept: number;
  /** Unreachable blobs spared because they were written during (or within the grace period before) the collection. */
  blobsProtected: number;
  /** Parent links this collection cut (recorded under 'refs/shallow/' before anything was deleted). */
  linksCut: number;
  /** Reflog entries this collection removed (expired, or past the keep rules). */
  reflogExpired: number;
  /** Blobs examined as deletion candidates (full: every stored blob). */
  candidates: number;
  /** Distinct filesystem roots retained. */
  rootsRetained: number;
  commitsRetained: number;
  durationMs: number;
  /** Where the time went, in ms: reading names and history, computing what to delete, deleting. */
  phases: { retainMs: number; planMs: number; sweepMs: number };
  /** Hex hashes deleted (with `listDeleted`), sorted. */
  deleted?: string[] | undefined;
}

/** What a plan (full or incremental) decided. */
export interface Plan {
  mode: GcMode;
  fallback?: string;
  /** Blobs to delete (not yet filtered by the guard), hex -> hash. */
  doomed: Map<string, Hash>;
  candidates: number;
  /** Size of the live set, the state blob left out. */
  liveCount: number;
  /** The new meta tree. */
  meta: Hash;
  /** Sizes of doomed blobs the plan has read already (hex -> bytes). */
  sizes?: Map<string, number>;
}

/** What a collection keeps, as read from the names table and history. */
export interface Retention {
  /** Hex -> blob kept by hash: commits (with their root) and non-node pins (no root). */
  kept: Map<string, { hash: Hash; root: Hash | undefined }>;
  /** Hex -> retained root, labelled with the first branch that retained it ('' for tags and pins). */
  roots: Map<string, { hash: Hash; label: string }>;
  /** Branch -> its head's root. */
  heads: Map<string, Hash>;
}
