// drive.watch(): change events between consecutive roots, from repo.fs.diff. Each watcher keeps
// its own list of root transitions and works out their diffs only as its consumer pulls, so a
// slow consumer never holds the drive up.
import type { FileType } from '@cafs/fs';
import type { Hash } from '@cafs/kv';
import type { Drive } from './drive.js';

export interface WatchOptions {
  /** Ends the iteration (without an error). */
  signal?: AbortSignal | undefined;
  /** Report directories' own changes (their times move whenever an entry is added or removed); default true. */
  directories?: boolean | undefined;
}

export interface DriveChangeEvent {
  op: 'add' | 'remove' | 'change' | 'rename';
  path: string;
  /** For 'rename': where it was. */
  from?: string;
  /** The root after the change. */
  root: Hash;
  /** The root before it. */
  prev: Hash;
  type: FileType;
}

export class DriveWatcher implements AsyncIterableIterator<DriveChangeEvent> {
  private readonly transitions: [Hash, Hash][] = [];
  private readonly events: DriveChangeEvent[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private readonly onAbort: () => void;

  constructor(
    private readonly drive: Drive,
    private readonly path: string | undefined,
    private readonly options: WatchOptions,
    private readonly unregister: (w: DriveWatcher) => void,
  ) {
    this.onAbort = () => this.close();
    if (options.signal?.aborted) this.close();
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** @internal The drive moved from `prev` to `next`. */
  _push(prev: Hash, next: Hash): void {
    if (this.done) return;
    this.transitions.push([prev, next]);
    this.wake?.();
  }

  /** Root transitions not yet turned into events. */
  get pending(): number {
    return this.transitions.length;
  }

  async next(): Promise<IteratorResult<DriveChangeEvent>> {
    for (;;) {
      const e = this.events.shift();
      if (e !== undefined) return { value: e, done: false };
      if (this.done) return { value: undefined, done: true };
      const t = this.transitions.shift();
      if (t !== undefined) {
        const [prev, root] = t;
        for await (const c of this.drive.repo.fs.diff(prev, root, { renames: true, ...(this.path === undefined || this.path === '/' ? {} : { path: this.path }) })) {
          const type = (c.right ?? c.left)!.type;
          if (type === 'directory' && this.options.directories === false) continue;
          const ev: DriveChangeEvent = { op: c.op, path: c.path, root, prev, type };
          if (c.from !== undefined) ev.from = c.from;
          this.events.push(ev);
        }
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<DriveChangeEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops watching; a pending `next()` ends. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.events.length = 0;
    this.transitions.length = 0;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.unregister(this);
    this.wake?.();
  }
}
