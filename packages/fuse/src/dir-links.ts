// Directory link counts as tmpfs keeps them: 2 + the number of subdirectories. The tree does not
// store them (a directory's entries say it); counting costs one seek per entry, so the mount
// counts a directory once and then keeps the count up to date through mkdir, rmdir and rename.
import { posix } from 'node:path';
import type { Stats } from '@cafs/fs';

/** Directories whose counts are kept (bounded: past this it starts again). */
const KEPT = 50_000;

/** Where a count is read: the same state the attributes it goes with were read from. */
export interface CountSource {
  subdirCount(path: string): Promise<number | undefined>;
}

export class DirLinks {
  private readonly counts = new Map<string, number>();
  /** Changes with every change of directory structure: a count read across one is not kept. */
  private generation = 0;

  /** `st` with the link count of a directory (unchanged for anything else). */
  async attrs(path: string, st: Stats, source: CountSource): Promise<Stats> {
    if (st.type !== 'directory') return st;
    const n = await this.subdirs(path, source);
    // Past the counting limit: 1, as Linux filesystems answer when they do not count (find
    // then does not assume 2 + subdirectories).
    return withNlink(st, n === undefined ? 1 : n + 2);
  }

  private async subdirs(path: string, source: CountSource): Promise<number | undefined> {
    const kept = this.counts.get(path);
    if (kept !== undefined) return kept;
    const gen = this.generation;
    const n = await source.subdirCount(path);
    if (n !== undefined && gen === this.generation) {
      if (this.counts.size >= KEPT) this.counts.clear();
      this.counts.set(path, n);
    }
    return n;
  }

  /** A directory was made at `path`. */
  made(path: string): void {
    this.generation++;
    this.bump(posix.dirname(path), 1);
    this.counts.set(path, 0);
  }

  /** The (empty) directory at `path` was removed. */
  removed(path: string): void {
    this.generation++;
    this.counts.delete(path);
    this.bump(posix.dirname(path), -1);
  }

  /** A directory moved from `from` to `to`, replacing an (empty) directory there if `replaced`. */
  moved(from: string, to: string, replaced: boolean): void {
    this.generation++;
    this.bump(posix.dirname(from), -1);
    if (!replaced) this.bump(posix.dirname(to), 1);
    const under = from + '/';
    const moved: [string, number][] = [];
    for (const [k, n] of this.counts) {
      if (k === from || k.startsWith(under)) {
        this.counts.delete(k);
        moved.push([to + k.slice(from.length), n]);
      } else if (k === to || k.startsWith(to + '/')) this.counts.delete(k);
    }
    for (const [k, n] of moved) this.counts.set(k, n);
  }

  /** The tree changed other than through the mount's own changes: count again. */
  forget(): void {
    this.generation++;
    this.counts.clear();
  }

  private bump(dir: string, by: number): void {
    const n = this.counts.get(dir);
    if (n !== undefined) this.counts.set(dir, n + by);
  }
}

/** `st` answering `nlink` instead (everything else read through to it). */
function withNlink(st: Stats, nlink: number): Stats {
  if (st.nlink === nlink) return st;
  return Object.create(st, { nlink: { value: nlink, enumerable: true } }) as Stats;
}
