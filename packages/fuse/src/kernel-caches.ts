// What the mount knows of the kernel's caches per path: whose page cache still matches the tree
// (an open may keep it), and which names belong to inodes with several names (libfuse gives each
// name its own kernel inode, so those are opened with direct_io). Both bounded.
import type { Stats } from '@cafs/fs';

/** Paths remembered in each set at most (cleared when full: a miss only costs a cache refill). */
const REMEMBERED = 100_000;

export class KernelCaches {
  /** Path -> the mount's epoch at which the kernel's page cache of it matched the tree. */
  private readonly cacheable = new Map<string, number>();
  /**
   * Names of an inode that has (or had, while the kernel may still hold what it was told) other
   * names: a change through one name leaves the others' cached size stale for up to the
   * attribute timeout, so such names are opened with direct_io and reads reach the tree.
   */
  private readonly shared = new Set<string>();

  /** The kernel's cache of `path` matches the tree as of `epoch`. */
  markCacheable(path: string, epoch: number): void {
    if (this.cacheable.size >= REMEMBERED) this.cacheable.clear();
    this.cacheable.set(path, epoch);
  }

  /** Whether an open of `path` may keep the kernel's pages (nothing else changed it since `epoch`). */
  keepsPages(path: string, epoch: number): boolean {
    return this.cacheable.get(path) === epoch;
  }

  /** The kernel's pages of `path` may no longer match the tree. */
  uncache(path: string): void {
    this.cacheable.delete(path);
  }

  isShared(path: string): boolean {
    return this.shared.has(path);
  }

  /** `path` is (or was) one of several names of its inode. */
  markShared(path: string): void {
    if (this.shared.size >= REMEMBERED) this.shared.clear();
    this.shared.add(path);
  }

  /** The attributes answered for `path` (the kernel now caches them). */
  sawAttrs(path: string, st: Stats): void {
    if (st.nlink > 1 && st.type !== 'directory') this.markShared(path);
  }

  /** `path` left the tree. */
  gone(path: string): void {
    this.cacheable.delete(path);
    this.shared.delete(path);
  }

  /** A rename moved `from` (and what is under it) to `to`: what the kernel holds moves with it. */
  moved(from: string, to: string): void {
    this.moveCacheable(from, to);
    this.moveShared(from, to);
  }

  private moveCacheable(from: string, to: string): void {
    const e = this.cacheable.get(from);
    this.cacheable.delete(from);
    if (e === undefined) this.cacheable.delete(to);
    else this.cacheable.set(to, e);
    // Paths under a renamed directory: forget them.
    const prefixes = [from + '/', to + '/'];
    for (const k of this.cacheable.keys()) if (prefixes.some((x) => k.startsWith(x))) this.cacheable.delete(k);
  }

  private moveShared(from: string, to: string): void {
    if (this.shared.size === 0) return;
    const was = this.shared.delete(from);
    this.shared.delete(to);
    if (was) this.shared.add(to);
    const under = from + '/';
    const toUnder = to + '/';
    const moved: string[] = [];
    for (const k of this.shared) {
      if (k.startsWith(toUnder)) this.shared.delete(k);
      else if (k.startsWith(under)) {
        this.shared.delete(k);
        moved.push(to + k.slice(from.length));
      }
    }
    for (const k of moved) this.shared.add(k);
  }
}
