// `cafs fsck`: every blob reachable from a branch, tag or their history is present and hashes right.
import { bytesToHex, sha256, type Hash } from '@cafs/kv';
import { decodeExtent, decodeInfo } from '@cafs/fs';
import type { Repo } from '@cafs/repo';

export interface FsckReport {
  commits: number;
  roots: number;
  nodes: number;
  dataBlobs: number;
  missing: string[];
  corrupt: string[];
  ok: boolean;
}

export interface FsckOptions {
  /**
   * Called as blobs are checked: commits begun, commits found but not yet begun (the total grows
   * as history is read), blobs checked so far.
   */
  onProgress?: ((p: { commits: number; pending: number; blobs: number }) => void) | undefined;
}

export async function fsck(repo: Repo, options: FsckOptions = {}): Promise<FsckReport> {
  const report: FsckReport = { commits: 0, roots: 0, nodes: 0, dataBlobs: 0, missing: [], corrupt: [], ok: true };
  const seen = new Set<string>();
  let blobs = 0;
  const check = async (hash: Hash): Promise<Uint8Array | undefined> => {
    const hex = bytesToHex(hash);
    if (seen.has(hex)) return undefined;
    seen.add(hex);
    options.onProgress?.({ commits: report.commits, pending: queue.length, blobs: ++blobs });
    const [present] = await repo.store.has([hash]);
    if (!present) {
      report.missing.push(hex);
      return undefined;
    }
    try {
      const bytes = await repo.store.get(hash);
      if (bytesToHex(sha256(bytes)) !== hex) {
        report.corrupt.push(hex);
        return undefined;
      }
      return bytes;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_INTEGRITY') report.corrupt.push(hex);
      else if ((err as { code?: string }).code === 'ERR_BLOB_NOT_FOUND') report.missing.push(hex);
      else throw err;
      return undefined;
    }
  };
  const starts: Hash[] = [...(await repo.branches()), ...(await repo.tags())].map((x) => x.commit);
  const commits: Hash[] = [];
  const queue = [...starts];
  while (queue.length > 0) {
    const h = queue.pop()!;
    if (seen.has(bytesToHex(h))) continue;
    if ((await check(h)) === undefined) continue;
    report.commits++;
    commits.push(h);
    const c = await repo.readCommit(h);
    for (const p of c.parents) queue.push(p);
    const rootHex = bytesToHex(c.root);
    if (seen.has('root:' + rootHex)) continue;
    seen.add('root:' + rootHex);
    report.roots++;
    // Tree nodes: reachableNodes reads (and so verifies) each node once.
    try {
      for await (const n of repo.fs.tree.reachableNodes(c.root)) {
        const hex = bytesToHex(n);
        if (seen.has(hex)) continue;
        if ((await check(n)) !== undefined) report.nodes++;
      }
    } catch (err) {
      const code = (err as { code?: string }).code;
      const hash = (err as { hash?: string }).hash;
      if (code === 'ERR_BLOB_NOT_FOUND') report.missing.push(hash ?? rootHex);
      else if (code === 'ERR_INTEGRITY' || code === 'ERR_CORRUPT_NODE') report.corrupt.push(hash ?? rootHex);
      else throw err;
      continue;
    }
    // Data blobs referenced by extents.
    for await (const { key, value } of repo.fs.tree.entries(c.root)) {
      const zero = key.indexOf(0);
      if (zero < 0) {
        decodeInfo(value);
        continue;
      }
      const ext = decodeExtent(value);
      if (ext.ref !== undefined && (await check(ext.ref)) !== undefined) report.dataBlobs++;
    }
  }
  report.missing = [...new Set(report.missing)];
  report.corrupt = [...new Set(report.corrupt)];
  report.ok = report.missing.length === 0 && report.corrupt.length === 0;
  return report;
}
