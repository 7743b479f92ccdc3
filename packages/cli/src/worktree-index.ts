// The working-directory index (issue 23): a stat cache per imported directory, kept in the
// repository directory, so that re-importing an unchanged tree does not read its files again.
//
// It is only a cache. It records the root the last import of the directory produced and, for
// each regular file with one name (st_nlink == 1), the stat fields it had when it was read. A
// file whose stat still matches exactly and is not "racy" (below) is copied from that root
// instead of being read; everything else is read as without an index. A missing, corrupt,
// truncated or foreign index is ignored (and replaced by the next import); a root that garbage
// collection removed just means the files are read.
//
// File format: the ASCII line `cafs-index 2\n` (the version; 1 held the stat fields as CBOR
// integers), the SHA-256 of the body (32 bytes), then the body in CBOR: { root, reproducible,
// startedNs, writtenNs, entries: [[path, stat], ...] } where stat is 52 bytes, little-endian: size, mtimeNs (signed), ctimeNs (signed), ino, dev
// (64 bits each), mode, uid, gid (32 bits each). Written to a temporary file and renamed over
// the index (not fsynced: a torn file after a crash fails its checksum and is ignored).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Encoder } from 'cbor-x';
import { equalBytes, sha256, sha256Hex, type Hash } from '@cafs/kv';

const MAGIC = Buffer.from('cafs-index 2\n');
const SUM = 32;

/**
 * Racy timestamps (as git's "racy git"): a file whose mtime or ctime falls within this window
 * of the import that recorded it (from RACY_NS before the import began to RACY_NS after the
 * index was written; any ctime from then on) is always read again, since a change to it in the same timestamp tick
 * would leave its stat unchanged. 2 s covers filesystems with 1 s timestamps (ext3, HFS+, many
 * network filesystems) and FAT's 2 s mtimes; Linux's own timestamps are jiffy-coarse (1-10 ms).
 * CAFS_INDEX_RACY_MS narrows it (tests only).
 */
export function racyWindowNs(): bigint {
  const env = process.env['CAFS_INDEX_RACY_MS'];
  if (env !== undefined && /^\d+$/.test(env)) return BigInt(env) * 1_000_000n;
  return 2_000_000_000n;
}

export interface IndexEntry {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  mode: number;
  uid: number;
  gid: number;
}

export interface WorktreeIndex {
  /** The root the import that wrote this index produced. */
  root: Hash;
  reproducible: boolean;
  /** When that import began its walk, and when the index was written (ns since the epoch). */
  startedNs: bigint;
  writtenNs: bigint;
  /** By path bytes (as latin1 strings, one char per byte). */
  entries: Map<string, IndexEntry>;
}

/** The index file of the directory whose real path is `realDir` (bytes), in repository directory `repoDir`. */
export function indexPath(repoDir: string, realDir: Uint8Array): string {
  return join(repoDir, 'index', sha256Hex(realDir));
}

export const pathKey = (path: Uint8Array): string => Buffer.from(path).toString('latin1');

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' } as ConstructorParameters<typeof Encoder>[0]);

const big = (v: unknown): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new Error('not an integer');
};

const STAT_BYTES = 52;

export function encodeIndex(index: WorktreeIndex): Buffer {
  const entries: unknown[] = [];
  const all = Buffer.alloc(STAT_BYTES * index.entries.size);
  let at = 0;
  for (const [k, e] of index.entries) {
    const b = all.subarray(at, at + STAT_BYTES);
    at += STAT_BYTES;
    b.writeBigUInt64LE(e.size, 0);
    b.writeBigInt64LE(e.mtimeNs, 8);
    b.writeBigInt64LE(e.ctimeNs, 16);
    b.writeBigUInt64LE(e.ino, 24);
    b.writeBigUInt64LE(e.dev, 32);
    b.writeUInt32LE(e.mode, 40);
    b.writeUInt32LE(e.uid, 44);
    b.writeUInt32LE(e.gid, 48);
    entries.push([Buffer.from(k, 'latin1'), b]);
  }
  const body = cbor.encode({ root: Buffer.from(index.root), reproducible: index.reproducible, startedNs: index.startedNs, writtenNs: index.writtenNs, entries });
  return Buffer.concat([MAGIC, sha256(body), body]);
}

/** The index in `bytes`, or undefined when it is not one (another version, truncated, corrupt, malformed). */
export function decodeIndex(bytes: Uint8Array): WorktreeIndex | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + SUM || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const sum = buf.subarray(MAGIC.length, MAGIC.length + SUM);
  const body = buf.subarray(MAGIC.length + SUM);
  if (!equalBytes(sha256(body), sum)) return undefined;
  try {
    const b = cbor.decode(body) as Record<string, unknown>;
    const root = b['root'];
    if (!(root instanceof Uint8Array) || root.length !== 32 || typeof b['reproducible'] !== 'boolean' || !Array.isArray(b['entries'])) return undefined;
    const entries = new Map<string, IndexEntry>();
    for (const row of b['entries'] as unknown[]) {
      if (!Array.isArray(row) || row.length !== 2 || !(row[0] instanceof Uint8Array) || !(row[1] instanceof Uint8Array) || row[1].length !== STAT_BYTES) return undefined;
      const s = Buffer.from(row[1].buffer, row[1].byteOffset, STAT_BYTES);
      entries.set(pathKey(row[0]), {
        size: s.readBigUInt64LE(0),
        mtimeNs: s.readBigInt64LE(8),
        ctimeNs: s.readBigInt64LE(16),
        ino: s.readBigUInt64LE(24),
        dev: s.readBigUInt64LE(32),
        mode: s.readUInt32LE(40),
        uid: s.readUInt32LE(44),
        gid: s.readUInt32LE(48),
      });
    }
    return { root: new Uint8Array(root) as Hash, reproducible: b['reproducible'], startedNs: big(b['startedNs']), writtenNs: big(b['writtenNs']), entries };
  } catch {
    return undefined;
  }
}

/** The index at `file`, or undefined when there is none or it cannot be trusted. */
export async function readIndex(file: string): Promise<WorktreeIndex | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  return decodeIndex(bytes);
}

/** Writes the index atomically: a temporary file beside it, renamed over it. */
export async function writeIndex(file: string, index: WorktreeIndex): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, encodeIndex(index), { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Nanoseconds since the epoch, now. */
export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** Whether a file with these times may have changed unseen since the index that recorded it was written. */
export function isRacy(index: WorktreeIndex, mtimeNs: bigint, ctimeNs: bigint, window = racyWindowNs()): boolean {
  const lo = index.startedNs - window;
  const hi = index.writtenNs + window;
  // A ctime after the index was written is racy too (a clock set back): only mtimes are set at will.
  return (mtimeNs >= lo && mtimeNs <= hi) || ctimeNs >= lo;
}
