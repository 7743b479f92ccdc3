// cafs stats: what the repository's blobs take, logically and as stored (with its codecs).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CodecBlobStore, isRawBlobStore, storeStats, type BlobStore } from '@cafs/kv';
import { repoPath } from '../repo-open.js';
import { out, json, example, type Context } from './shared.js';

const mib = (n: number): string => (n / 2 ** 20).toFixed(1) + ' MiB';

/** Bytes of the files in a directory (a LevelDB: tables, logs, manifest). */
async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile()) total += (await stat(join(dir, e.name))).size;
  }
  return total;
}

export function statsCommand(program: Command, ctx: Context): void {
  const { globals } = ctx;
  example(
    program
      .command('stats')
      .description('logical bytes of every blob (what a plain store holds), stored bytes (after compression and encryption) and their ratio; reads every blob once')
      .option('--json', 'print the figures as JSON')
      .action(async (o: { json?: boolean }) => {
        await ctx.withRepo(async (repo) => {
          // Through the write barrier and any cache (Redis) to the codec or raw store beneath.
          let inner: BlobStore = repo.store;
          while (!(inner instanceof CodecBlobStore) && !isRawBlobStore(inner) && (inner as { inner?: BlobStore }).inner !== undefined) inner = (inner as unknown as { inner: BlobStore }).inner;
          const s = await storeStats(inner);
          const ratio = s.storedBytes > 0 ? s.logicalBytes / s.storedBytes : 1;
          const g = globals();
          let diskBytes: number | undefined;
          if (g.store === undefined && !g.memory) {
            try {
              diskBytes = await directoryBytes(repoPath(g.repo));
            } catch {
              diskBytes = undefined;
            }
          }
          const held = !s.storedKnown;
          if (o.json) {
            return json({
              codec: held ? 'unknown' : s.codec,
              blobs: s.blobs,
              compressedBlobs: held ? null : s.compressedBlobs,
              logicalBytes: s.logicalBytes,
              storedBytes: held ? null : s.storedBytes,
              ratio: held ? null : Number(ratio.toFixed(4)),
              diskBytes: diskBytes ?? null,
            });
          }
          out(`codec:    ${held ? 'unknown (the repository is held by another cafs process)' : s.codec}`);
          out(`blobs:    ${s.blobs}${held ? '' : ` (${s.compressedBlobs} compressed)`}`);
          out(`logical:  ${s.logicalBytes} bytes (${mib(s.logicalBytes)})`);
          if (!held) out(`stored:   ${s.storedBytes} bytes (${mib(s.storedBytes)})`);
          if (!held) out(`ratio:    ${ratio.toFixed(2)}x`);
          if (diskBytes !== undefined) out(`on disk:  ${diskBytes} bytes (${mib(diskBytes)}, LevelDB files)`);
        });
      }),
    'cafs stats\ncafs stats --json',
  );
}
