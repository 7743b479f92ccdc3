// Where pruned history ends. A collection that drops old commits (gc's keepLast /
// keepNewerThan) first records every parent link it cuts, as the name
// `refs/shallow/<child hex>/<parent hex>` -> parent, and only then deletes. Every history walk
// (log, `~N`, merge bases, fsck, sync, later collections) treats a cut link as the end of the
// history, so a commit the collection has not deleted yet is never reached, and a parent that
// is gone is the recorded end of history rather than damage. Git's `shallow` file is the model;
// a cut names one link, not a whole commit, so a merge keeps the parent that is still retained.
import { bytesToHex, equalBytes, type BlobStore, type Hash } from '@cafs/kv';
import { tryDecodeCommit, type Commit } from './commit.js';
import type { NameStore } from './names.js';
import { CUT_PREFIX } from './ref-names.js';

export { CUT_PREFIX };

const cutName = (child: Hash, parent: Hash): string => `${CUT_PREFIX}${bytesToHex(child)}/${bytesToHex(parent)}`;

/** The cut parent links of a repository, read once. */
export class HistoryCuts {
  /** Child hex -> the hex of its cut parents. */
  private readonly byChild: Map<string, Set<string>>;
  /** Hex of every cut parent (collected, or about to be). */
  private readonly parentIds: Set<string>;

  private constructor(byChild: Map<string, Set<string>>) {
    this.byChild = byChild;
    this.parentIds = new Set([...byChild.values()].flatMap((s) => [...s]));
  }

  static readonly none = new HistoryCuts(new Map());

  static async load(names: NameStore): Promise<HistoryCuts> {
    const byChild = new Map<string, Set<string>>();
    for await (const [name] of names.list(CUT_PREFIX)) {
      const [child, parent] = name.slice(CUT_PREFIX.length).split('/');
      if (child === undefined || parent === undefined) continue;
      let s = byChild.get(child);
      if (s === undefined) byChild.set(child, (s = new Set()));
      s.add(parent);
    }
    return new HistoryCuts(byChild);
  }

  get size(): number {
    let n = 0;
    for (const s of this.byChild.values()) n += s.size;
    return n;
  }

  isCut(child: Hash, parent: Hash): boolean {
    return this.byChild.get(bytesToHex(child))?.has(bytesToHex(parent)) === true;
  }

  /** Whether some parent link of `child` is cut (its history is shortened there). */
  hasCuts(child: Hash): boolean {
    return this.byChild.has(bytesToHex(child));
  }

  /** Whether `hash` is a commit whose link from a retained child was cut (collected history). */
  isCollected(hash: Hash): boolean {
    return this.parentIds.has(bytesToHex(hash));
  }

  /** The parents of `commit` (hash `child`) that history still follows. */
  parents(child: Hash, commit: Commit): Hash[] {
    const cut = this.byChild.get(bytesToHex(child));
    return cut === undefined ? commit.parents : commit.parents.filter((p) => !cut.has(bytesToHex(p)));
  }

  /** Every cut link, as [child hex, parent hex]. */
  links(): [string, string][] {
    return [...this.byChild].flatMap(([c, ps]) => [...ps].map((p): [string, string] => [c, p]));
  }
}

/** Records parent links as cut (idempotent). Durable once it returns, as names are. */
export async function recordCuts(names: NameStore, links: readonly { child: Hash; parent: Hash }[]): Promise<number> {
  let added = 0;
  for (const { child, parent } of links) {
    const name = cutName(child, parent);
    const now = await names.get(name);
    if (now !== undefined && equalBytes(now, parent)) continue;
    await names.compareAndSwap(name, now, parent);
    added++;
  }
  return added;
}

/** Removes the cuts whose child is not retained any more (a collection dropped it too). */
export async function dropStaleCuts(names: NameStore, retained: (childHex: string) => boolean): Promise<number> {
  const stale: [string, Hash][] = [];
  for await (const [name, h] of names.list(CUT_PREFIX)) {
    const child = name.slice(CUT_PREFIX.length).split('/')[0] ?? '';
    if (!retained(child)) stale.push([name, h]);
  }
  for (const [name, h] of stale) await names.compareAndSwap(name, h, undefined);
  return stale.length;
}

/**
 * After commits arrived from another repository (fetch, push, clone): every parent link of one
 * of them to a commit this store lacks is where the other side's history ended, so it is cut
 * here too (a sync sends all the history the source holds, up to its own cuts).
 */
export async function cutAtMissingParents(store: BlobStore, names: NameStore, commits: readonly Hash[]): Promise<number> {
  const links: { child: Hash; parent: Hash }[] = [];
  for (const child of commits) {
    const c = tryDecodeCommit(await store.get(child));
    if (c === undefined || c.parents.length === 0) continue;
    const present = await store.has(c.parents);
    c.parents.forEach((parent, i) => present[i] || links.push({ child, parent }));
  }
  return recordCuts(names, links);
}
