// Names of open files that left the tree. libfuse renames a file unlinked (or replaced) while
// open to a hidden name (`.fuse_hidden...`), which must never reach a root: the hidden name is
// served through another name of the file's inode if one is left (an alias), else from a
// private root of the tree as it was (detached), until libfuse removes it at release.
import type { Fs, Stats } from '@cafs/fs';
import type { Hash } from '@cafs/kv';
import type { InodeNumbers } from './inode-numbers.js';
import type { KernelCaches } from './kernel-caches.js';

/**
 * A file unlinked (or replaced by rename) while open, with no other name left: libfuse renamed
 * it to a hidden name, and its descriptors read and write it in a private root. (One with other
 * names left is an alias instead: see aliases below.)
 */
export interface Detached {
  root: Hash;
  path: string;
}

export class OpenNames {
  /** Hidden names of files with no other name left, each with its private root. */
  readonly detached = new Map<string, Detached>();
  /** Hidden names of files that kept other names -> one of those names in the tree. */
  readonly aliases = new Map<string, string>();

  constructor(
    private readonly fs: Fs,
    private readonly inos: InodeNumbers,
    private readonly caches: KernelCaches,
  ) {}

  /** The name in the tree an aliased hidden name stands for (any other path: itself). */
  live(path: string): string {
    return this.aliases.size === 0 ? path : (this.aliases.get(path) ?? path);
  }

  /**
   * `path` leaves the tree (`before` -> `after`: unlink, a rename onto it, libfuse hiding it
   * while open, then `hidden` is the hidden name); `st` its attributes in `before`. Descriptors
   * that use it through aliases, and `hidden`, move to another name of its inode, or, with none
   * left, to a private root of `before`; an inode that keeps other names keeps its number (its
   * least name may have been this one).
   */
  async nameGoes(before: Hash, after: Hash, path: string, st: Stats | undefined, hidden?: string): Promise<void> {
    const holders: string[] = [];
    if (this.aliases.size > 0) for (const [h, p] of this.aliases) if (p === path) holders.push(h);
    if (hidden !== undefined) holders.push(hidden);
    const linked = st !== undefined && st.nlink > 1 && st.type !== 'directory';
    const other = linked ? (await this.fs.inodeNames(before, path)).find((n) => n !== path) : undefined;
    if (other === undefined) {
      if (st !== undefined) this.inos.forget(st.ino);
      if (holders.length === 0) return;
      // One inode, one private root, shared by every hidden name that still reaches it.
      const d: Detached = { root: before, path };
      for (const h of holders) {
        this.aliases.delete(h);
        this.detached.set(h, d);
      }
      return;
    }
    if (holders.length > 0) {
      for (const h of holders) this.aliases.set(h, other);
      // The kernel's attributes of that name do not see what is written through the hidden one.
      this.caches.markShared(other);
    }
    const now = await this.fs.lstat(after, other, { throwIfNoEntry: false });
    if (now !== undefined) this.inos.carry(st!.ino, now.ino);
  }

  /** A rename moved `from` (and what is under it) to `to`: aliases follow. */
  moveAliases(from: string, to: string): void {
    if (this.aliases.size === 0) return;
    const under = from + '/';
    for (const [h, p] of this.aliases) {
      if (p === from) this.aliases.set(h, to);
      else if (p.startsWith(under)) this.aliases.set(h, to + p.slice(from.length));
    }
  }
}
