// What every changing operation needs of its transaction: records written, parents touched, checks.
import type { Tree } from '@cafs/kv';
import type { BlobCache } from './data/file-data.js';
import { FsError } from './errors.js';
import { encodeInfo, type FileType, type Info } from './info.js';
import { extentRange, prefixEnd } from './keys.js';
import type { Txn } from './kv-view.js';
import { showPath, type PathLike } from './path.js';
import { readInfo, type Resolved } from './resolve.js';

export interface FsContext {
  tree: Tree;
  blobs: BlobCache;
  /** Current time in nanoseconds. */
  now(): bigint;
  uid: number;
  gid: number;
}

export class TxnOps {
  constructor(
    readonly ctx: FsContext,
    readonly txn: Txn,
  ) {}

  put(key: Uint8Array, info: Info): void {
    this.txn.put(key, encodeInfo(info));
  }

  newInfo(type: FileType, mode: number, mtime?: bigint): Info {
    const now = this.ctx.now();
    return { type, mode, uid: this.ctx.uid, gid: this.ctx.gid, mtimeNs: mtime ?? now, ctimeNs: now, size: 0n, allocated: 0n, target: undefined, xattrs: [] };
  }

  /** A directory's entries changed: its mtime and ctime move to now. */
  async touchDir(key: Uint8Array): Promise<void> {
    const info = await readInfo(this.txn, key);
    if (info === undefined) return;
    const now = this.ctx.now();
    this.put(key, { ...info, mtimeNs: now, ctimeNs: now });
  }

  async isEmptyDir(key: Uint8Array): Promise<boolean> {
    for await (const _ of this.txn.entries({ gt: key, lt: prefixEnd(key) })) return false;
    return true;
  }

  /** Removes a file's extents, one key at a time (no range tombstones for the common case). */
  async dropExtents(key: Uint8Array): Promise<void> {
    const keys: Uint8Array[] = [];
    for await (const e of this.txn.entries(extentRange(key))) keys.push(e.key);
    for (const k of keys) this.txn.del(k);
  }

  async newEntryParent(r: Resolved, syscall: string, path: PathLike): Promise<void> {
    if (r.names.length === 0) throw new FsError('EEXIST', syscall, showPath(path));
    const parent = await readInfo(this.txn, r.parentKey);
    if (parent === undefined) throw new FsError('ENOENT', syscall, showPath(path));
    if (parent.type !== 'directory') throw new FsError('ENOTDIR', syscall, showPath(path));
  }
}
