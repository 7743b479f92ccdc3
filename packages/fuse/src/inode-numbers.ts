// st_ino through the mount. fuse-native hands libfuse 32 bits of inode number (and libfuse,
// mounted with use_ino, passes them on), while @cafs/fs numbers inodes with 52-bit hashes of the
// key holding them (Stats.ino: the same for every name of one inode, 1 for the root; a hard-linked
// inode lives at the least of its names, so its Stats.ino changes when a lesser name is linked
// or its least name goes). The mount answers the low 32 bits, with two corrections for inodes
// that have (or had) several names, the ones tools pair by (st_dev, st_ino): tar, rsync -H,
// cp -a, du:
// - no two of them share a number: one whose low 32 bits another already holds gets the next
//   free number;
// - an inode keeps its number while the mount lives when its Stats.ino moves (`carry`), so
//   what the kernel cached for one name (it caches per name) still pairs with the fresh
//   answers for the others.
// - nothing else takes a number such an inode holds (after `ln a b; rm a`, b keeps a's number
//   and a new a gets another one: diff and cp would take two files with one number for one).
// Other files keep their low 32 bits (two of them may share a number, about one pair in 2^32,
// as with any 32-bit st_ino; a renamed file that never had a second name gets its new key's).
import type { Stats } from '@cafs/fs';

/** Inodes remembered at most; beyond, the table starts again (numbers then may move). */
const REMEMBERED = 1 << 20;
const TWO32 = 2 ** 32;

/** The low 32 bits of a Stats.ino, never 0 (and 1 only for the root). */
export function low32(ino: number): number {
  const n = ino >>> 0;
  if (n > 1 || ino === 1) return n;
  // 0 or 1 below, for a key that is not the root's: take the high bits instead.
  return (Math.floor(ino / TWO32) >>> 0) | 2;
}

export class InodeNumbers {
  /** Stats.ino of an inode that has or had several names -> the number the mount answers for it. */
  private readonly held = new Map<number, number>();
  /** The numbers in `held` -> their Stats.ino. */
  private readonly owners = new Map<number, number>();

  /** st_ino for these attributes. */
  of(st: Stats): number {
    const ino = st.ino;
    const single = st.nlink <= 1 || st.type === 'directory';
    if (this.held.size === 0) {
      const n = low32(ino);
      if (!single) this.hold(ino, n);
      return n;
    }
    const had = this.held.get(ino);
    if (had !== undefined) return had;
    let k = low32(ino);
    let owner = this.owners.get(k);
    if (owner === undefined && single) return k;
    // Taken by an inode that has (or had) several names, e.g. the one that lived at this key
    // before (ln a b; rm a; a new a): the next free number, kept for this inode.
    while (owner !== undefined && owner !== ino) {
      k = k >= 0xfffffffe ? 2 : k + 1;
      owner = this.owners.get(k);
    }
    this.hold(ino, k);
    return k;
  }

  /** Whether the inode whose Stats.ino is `ino` has a remembered number. */
  has(ino: number): boolean {
    return this.held.has(ino);
  }

  /**
   * An inode's Stats.ino moved from `from` to `to` (its least name changed): it keeps the number
   * it was answered with, unless another inode holds that number.
   */
  carry(from: number, to: number): void {
    if (from === to) return;
    const n = this.held.get(from) ?? low32(from);
    const owner = this.owners.get(n);
    if (owner !== undefined && owner !== from && owner !== to) return;
    this.forget(from);
    this.forget(to);
    this.hold(to, n);
  }

  /** The inode is gone: its number may be given again. */
  forget(ino: number): void {
    const n = this.held.get(ino);
    if (n === undefined) return;
    this.held.delete(ino);
    if (this.owners.get(n) === ino) this.owners.delete(n);
  }

  private hold(ino: number, n: number): void {
    if (this.held.size >= REMEMBERED) {
      this.held.clear();
      this.owners.clear();
    }
    this.held.set(ino, n);
    this.owners.set(n, ino);
  }
}
