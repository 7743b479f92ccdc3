// The public shape of a mount: what it mounts, its options and the events it emits.
import type { Fs } from '@cafs/fs';
import type { Hash } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import type { CommitPolicy } from './commit-policy.js';

export type MountSource = Hash | { repo: Repo; branch: string };

export interface MountOptions {
  /** The filesystem holding a root-hash source (default: `repo.fs` when `repo` is given). */
  fs?: Fs | undefined;
  repo?: Repo | undefined;
  /** A root-hash source is read-only unless this is true (then an anonymous working head). */
  writable?: boolean | undefined;
  /** Create the mountpoint if missing (default true). */
  mkdir?: boolean | undefined;
  /** Roots kept in `mount.history` (default 1000). */
  historyLimit?: number | undefined;
  /** Extra libfuse options appended to the option string. */
  fuseOptions?: string[] | undefined;
  /** Install SIGINT/SIGTERM handlers that unmount before exiting (default true). */
  handleSignals?: boolean | undefined;
  /**
   * Let users other than the one who mounted use the mount (libfuse `allow_other`; as root, or
   * with `user_allow_other` in /etc/fuse.conf). The kernel still checks modes and owners.
   */
  allowOther?: boolean | undefined;
  /**
   * Collect garbage as the mount goes (needs `repo`): after every `everyRoots` new roots (default
   * 5000), an incremental `repo.gc` keeping `keepLast` commits of each branch (and/or those newer
   * than `keepNewerThan`), the mount's current root and every root an open file still reads.
   * For a long-lived RAM disk, whose store otherwise keeps every root it ever made. It runs in
   * the mount's request queue (requests wait for it; incremental collections are short).
   * Roots in `mount.history` older than what is kept become unreadable.
   */
  gc?: { keepLast?: number | undefined; keepNewerThan?: Date | undefined; everyRoots?: number | undefined; graceMs?: number | undefined } | undefined;
  /**
   * When a branch mount's roots become commits (see commit-policy.ts): by default after 2 s
   * without a change, at least once a minute under steady change, on fsync of the mount's root
   * directory, when `user.cafs.commit` is set on it, on `commit()` and at unmount. `{ each: true }`
   * commits every change.
   */
  commits?: CommitPolicy | undefined;
  /** libfuse `debug`. */
  debug?: boolean | undefined;
  /**
   * Let the kernel cache entries, attributes and pages for a day (default: for read-only
   * mounts). Turn off for a read-only mount that will `checkout` other roots (it then also
   * uses direct_io, so that files opened before a checkout keep reading their tree).
   */
  cache?: boolean | undefined;
}

/** What `mount.events` emits (each listener runs later, on its own turn: it never stalls a request). */
export interface MountEvents {
  created: [{ path: string }];
  opened: [{ path: string; fd: number; flags: number }];
  written: [{ path: string; root: Hash }];
  closed: [{ path: string; fd: number }];
  unlinked: [{ path: string }];
  renamed: [{ from: string; to: string }];
  /** A hard link: `to` is a new name of the file `from` names. */
  linked: [{ from: string; to: string }];
  root: [{ root: Hash; what: string }];
  /** A collection the `gc` option ran (or why it failed: the mount goes on). */
  collected: [{ blobsDeleted: number; bytesDeleted: number; durationMs: number } | { error: Error }];
  /** A commit of the branch (`merged`: someone else had moved it; both sides are kept). */
  committed: [{ commit: Hash; root: Hash; message: string; merged: boolean; conflicts: string[] }];
  /** A change (or a file's writes) whose root could not be made after its request was answered. */
  writeFailed: [{ path: string; error: Error }];
  unmounted: [];
}
