// What the mount's operation families (ops-*.ts) share: the state and steps of a live mount
// (CafsMount implements MountCore) and the records it keeps per handle and per change.
import type { Batch, FileReader, Fs, Stats } from '@cafs/fs';
import type { Hash } from '@cafs/kv';
import type { BranchCommits } from './commit-policy.js';
import type { Caller } from './native.js';
import type { MountEvents } from './mount-types.js';
import type { SlabPool, WriteRun } from './write-run.js';
import type { InodeNumbers } from './inode-numbers.js';
import type { DirLinks } from './dir-links.js';
import type { KernelCaches } from './kernel-caches.js';
import type { Detached, OpenNames } from './open-names.js';

export const O_ACCMODE = 3;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const HIDDEN_PREFIX = '.fuse_hidden';
export const ROOT_XATTR = 'user.cafs.root';
/** Set on the mount's root directory (the value is the message): commit now. */
export const COMMIT_XATTR = 'user.cafs.commit';
export const LONG_TIMEOUT = 86400;


export interface Handle {
  append: boolean;
  writable: boolean;
  /** The root and checkout epoch when opened: after a checkout, reads keep this root. */
  root: Hash;
  epoch: number;
  /** The file as last read through this handle (reopened when the root changes). */
  reader?: { root: Hash; path: string; file: FileReader } | undefined;
  /** Writes gathered through this handle that could not become a root after close() returned. */
  writeError?: unknown;
}

export interface Pending {
  path: string;
  fd: number;
  batch: Batch;
  /** The unmade root this batch was forked from (see RootJob.after). */
  after: RootJob | undefined;
  /** Sequential writes not yet handed to the batch (see write-run.ts). */
  run: WriteRun | undefined;
  /** The run being written into the batch while the next one gathers (at most one). */
  writing: Promise<void> | undefined;
  /** Why a run could not be written: reported by the next write, fsync or close. */
  error: unknown;
}

/**
 * A change that was answered and whose root is not made yet. Each is made in order by
 * `makeRoots`, between requests; the next change is applied to a fork of the newest one's batch.
 */
export interface RootJob {
  batch: Batch;
  what: string;
  /** The path a failure is reported for. */
  path: string;
  /** The job whose batch this one's was forked from: if it fails, this one fails too. */
  after: RootJob | undefined;
  /** Gathered writes through this descriptor: a failure is also reported by its next fsync or close. */
  fd: number | undefined;
  /** Why the root could not be made or committed. */
  error: unknown;
  /** Resolves once the root is made (or has failed). */
  done: Promise<void>;
  finish: () => void;
}

/** Answered changes whose roots are not made yet, at most: beyond, requests wait for the oldest. */
export const MAX_UNMADE_ROOTS = 8;

/** A change's result: the entry's attributes, and its directory's when it made a new entry. */
export interface Changed {
  stat: Stats;
  parent: { path: string; stat: Stats } | undefined;
}

/** The mount as its operations see it (see mount.ts for what each member does). */
export interface MountCore {
  readonly fs: Fs;
  readonly readOnly: boolean;
  current: Hash;
  /**
   * Moves on when the tree changed other than by this mount's answered requests (a checkout, the
   * branch moved by someone else, a failed write): an open keeps the kernel's pages only if the
   * file was not changed across one.
   */
  epoch: number;
  nextFd: number;
  pending: Pending | undefined;
  readonly handles: Map<number, Handle>;
  /** Names of open files that left the tree (hidden names: aliases, detached files). */
  readonly names: OpenNames;
  /** st_ino of the attributes answered. */
  readonly inos: InodeNumbers;
  /** Directory link counts (2 + subdirectories), kept through mkdir, rmdir and rename. */
  readonly dirLinks: DirLinks;
  /** What the kernel caches per path (pages, names of inodes with several names). */
  readonly caches: KernelCaches;
  readonly commits: BranchCommits | undefined;
  readonly slabs: SlabPool;
  emit<K extends keyof MountEvents>(name: K, ...args: MountEvents[K]): void;
  serial<T>(op: () => Promise<T>): Promise<T>;
  read<T>(op: () => Promise<T>): Promise<T>;
  settle(): Promise<void>;
  seal(): Promise<void>;
  rootsMade(): Promise<void>;
  commit(message?: string): Promise<Hash | undefined>;
  currentRoot(): Promise<Hash>;
  batchForChange(): Promise<{ batch: Batch; after: RootJob | undefined }>;
  drain(p: Pending): Promise<void>;
  startWriting(p: Pending): void;
  failed(p: Pending): never;
  setWriteError(h: Handle, err: unknown): void;
  takeWriteError(h: Handle | undefined): unknown;
  failedBehind(path: string, err: unknown): void;
  readFile(h: Handle | undefined, root: Hash, path: string, into: Uint8Array, pos: number): Promise<number>;
  statOf(path: string): Promise<Stats | undefined>;
  where(path: string): { root: Hash; path: string; detached: Detached | undefined };
  parentOf(batch: Batch, path: string): Promise<Changed['parent']>;
  change(what: string, op: (root: Hash) => Promise<Hash>): Promise<void>;
  fileChange(path: string, what: string, apply: (b: Batch, path: string) => Promise<void>): Promise<Stats>;
  changeBehindIn(what: string, path: string, apply: (b: Batch) => Promise<void>, withParent: boolean): Promise<Changed>;
  caller(): Caller | undefined;
  createAs(path: string, owner: Caller | undefined, op: (b: Batch) => Promise<void>): (b: Batch) => Promise<void>;
}
