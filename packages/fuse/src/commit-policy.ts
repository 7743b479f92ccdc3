// When a branch mount's roots become commits. Every change is a new root at once (the mount
// reads it, `user.cafs.root` shows it); the branch head moves only by commits, made after a
// quiet period, at most `maxDelayMs` after the first uncommitted change, on request (fsync of
// the mount's root directory, the `user.cafs.commit` xattr, `mount.commit()`), and at unmount;
// or after every change with `each`. A commit that finds the branch moved by someone else
// merges three ways, so that neither side's changes are lost.
import { bytesToHex, equalBytes, type Hash } from '@cafs/kv';
import { mergeRoots, settleConflicts, type Conflict, type Repo } from '@cafs/repo';

export interface CommitPolicy {
  /** One commit per change (each answered mutation), as a journal. */
  each?: boolean | undefined;
  /** Commit once no change came for this long (default 2000 ms). */
  quietMs?: number | undefined;
  /** Under a steady stream of changes, commit at least this often (default 60 000 ms). */
  maxDelayMs?: number | undefined;
}

export const DEFAULT_QUIET_MS = 2000;
export const DEFAULT_MAX_DELAY_MS = 60_000;

/** Operations named in a commit message before "and N more". */
const NAMED_CHANGES = 3;

export interface Committed {
  /** The new head (unchanged when there was nothing to commit). */
  head: Hash;
  /** The branch's root now: the mount's, or the merge of it with what someone else committed. */
  root: Hash;
  /** The commit's message ('' when none was made). */
  message: string;
  /** A commit was made (false: nothing to commit, or the mount only followed the branch). */
  made: boolean;
  /** Someone else had moved the branch: the commit is a merge. */
  merged: boolean;
  /** Paths both sides changed differently (the mount's side kept; theirs stays in history). */
  conflicts: Conflict[];
}

export class BranchCommits {
  /** The head this mount last committed or followed. */
  head: Hash;
  /** The root of `head`. */
  committedRoot: Hash;
  private changes: string[] = [];
  private changeCount = 0;
  private quietTimer: ReturnType<typeof setTimeout> | undefined;
  private maxTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly repo: Repo,
    private readonly branch: string,
    head: Hash,
    root: Hash,
    private readonly policy: CommitPolicy,
    /** Called when a timer says it is time to commit (the mount queues the commit). */
    private readonly due: () => void,
  ) {
    this.head = head;
    this.committedRoot = root;
    this.quietMs = policy.quietMs ?? DEFAULT_QUIET_MS;
    this.maxDelayMs = policy.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    for (const [name, v] of [['quietMs', this.quietMs], ['maxDelayMs', this.maxDelayMs]] as const) {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`commit policy: ${name} must be a number of milliseconds >= 0`);
    }
  }

  get eachChange(): boolean {
    return this.policy.each === true;
  }

  /** Changes since the last commit. */
  get uncommitted(): number {
    return this.changeCount;
  }

  /** A change became the mount's root (not yet committed): arms the timers. */
  noteChange(what: string): void {
    this.changeCount++;
    if (this.changes.length < NAMED_CHANGES) this.changes.push(what);
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(this.fire, this.quietMs);
    this.quietTimer.unref?.();
    if (this.maxTimer === undefined) {
      this.maxTimer = setTimeout(this.fire, this.maxDelayMs);
      this.maxTimer.unref?.();
    }
  }

  private readonly fire = (): void => {
    this.stopTimers();
    this.due();
  };

  private stopTimers(): void {
    if (this.quietTimer !== undefined) clearTimeout(this.quietTimer);
    if (this.maxTimer !== undefined) clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
  }

  /** What the commit of the changes gathered says, unless the caller gives a message. */
  summary(): string {
    if (this.changeCount <= 1) return this.changes[0] ?? 'no changes';
    const more = this.changeCount - this.changes.length;
    return `${this.changeCount} changes: ${this.changes.join(', ')}${more > 0 ? `, and ${more} more` : ''}`;
  }

  /**
   * Commits `root` (compare-and-swap on the head this mount knows). With `each`, a moved branch
   * is a ConflictError for the caller (the change is refused, as before). Otherwise the mount's
   * changes since its last commit are merged three ways with the branch's new head.
   */
  async commit(root: Hash, message?: string): Promise<Committed> {
    this.stopTimers();
    if (equalBytes(root, this.committedRoot)) {
      this.reset();
      // Nothing of ours to commit: if someone else moved the branch, the mount follows it.
      const now = await this.repo.head(this.branch);
      if (!equalBytes(now, this.head)) this.follow(now, (await this.repo.readCommit(now)).root);
      return { head: this.head, root: this.committedRoot, message: '', made: false, merged: false, conflicts: [] };
    }
    const msg = message !== undefined && message !== '' ? message : this.summary();
    try {
      this.head = await this.repo.commit(this.branch, root, msg, { expect: this.head });
      this.committedRoot = root;
      this.reset();
      return { head: this.head, root, message: msg, made: true, merged: false, conflicts: [] };
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_CONFLICT' || this.eachChange) throw err;
    }
    return this.mergeWithBranch(root, msg);
  }

  /** The branch moved under the mount: merge (base: our last commit) and commit both parents. */
  private async mergeWithBranch(ours: Hash, msg: string): Promise<Committed> {
    for (;;) {
      const theirHead = await this.repo.head(this.branch);
      const theirs = (await this.repo.readCommit(theirHead)).root;
      const m = await mergeRoots(this.repo.fs, this.committedRoot, ours, theirs);
      const settled = m.conflicts.length === 0 ? { root: m.root, conflicts: [] } : await settleConflicts(this.repo.fs, m.root, m.conflicts, { strategy: 'ours' });
      const open = settled.conflicts;
      const text = `${msg}\n\nmerged with ${bytesToHex(theirHead).slice(0, 12)}, which moved ${this.branch} meanwhile${open.length > 0 ? `; conflicts kept the mount's side: ${open.map((c) => c.path).join(', ')}` : ''}`;
      try {
        this.head = await this.repo.commit(this.branch, settled.root, text, { expect: theirHead, parents: [theirHead, this.head] });
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_CONFLICT') continue; // moved again: merge again
        throw err;
      }
      this.committedRoot = settled.root;
      this.reset();
      return { head: this.head, root: settled.root, message: text, made: true, merged: true, conflicts: open };
    }
  }

  /** The branch was moved on purpose (a followed conflict with `each`, a checkout). */
  follow(head: Hash, root: Hash): void {
    this.head = head;
    this.committedRoot = root;
  }

  private reset(): void {
    this.changes = [];
    this.changeCount = 0;
  }

  dispose(): void {
    this.stopTimers();
  }
}
