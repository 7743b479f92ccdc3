// cafs gc: collect unreachable blobs.
import type { Command } from 'commander';
import { RepoError, type GcProgress } from '@cafs/repo';
import { compactStore, dirSize } from '../compact.js';
import { progressBar } from '../progress.js';
import { repoPath } from '../repo-open.js';
import { HeldNameStore } from '../holder.js';
import { CliError } from '../errors.js';
import { out, json, example, type Context } from './shared.js';

/** `--verbose`: one line on stderr when a phase ends (the cut is recorded; marking or a sweep is done). */
function phaseLine(p: GcProgress): void {
  if (p.phase === 'cut') process.stderr.write(`gc: history cut at ${p.done} parent link${p.done === 1 ? '' : 's'} (recorded)\n`);
  else if (p.done === p.total) process.stderr.write(`gc: ${p.phase} done: ${p.total} ${p.phase === 'mark' ? 'roots' : 'blobs'}\n`);
}

const AGE = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

/** A date, or an age before `nowNs` (90m, 12h, 7d, 2w). */
export function parseWhen(text: string, nowNs: bigint): Date {
  const age = AGE.exec(text);
  if (age !== null) return new Date(Number(nowNs / 1_000_000n) - Number(age[1]) * UNIT_MS[age[2]!]!);
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new RepoError('EINVAL', `--keep-newer-than takes a date (2026-12-01) or an age (12h, 7d), not ${JSON.stringify(text)}`);
  return d;
}

/** `--reflog-expire`: an age (30d), `now` (drop every entry) or `never`; in milliseconds. */
export function parseExpire(text: string): number {
  if (text === 'now') return 0;
  if (text === 'never') return Infinity;
  const age = AGE.exec(text);
  if (age === null) throw new RepoError('EINVAL', `--reflog-expire takes an age (12h, 30d, 2w), now or never, not ${JSON.stringify(text)}`);
  return Number(age[1]) * UNIT_MS[age[2]!]!;
}

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

export function gcCommand(program: Command, ctx: Context): void {
  const { withRepo, globals } = ctx;
  example(
    program
      .command('gc')
      .description('delete blobs no branch, tag or retained history reaches')
      .option('--full', 'a full mark and sweep (default incremental)')
      .option('--keep-last <n>', 'keep only the last N commits of each branch')
      .option('--keep-newer-than <when>', 'keep only commits newer than this: a date (2026-12-01, ISO 8601) or an age (90m, 12h, 7d, 2w)')
      .option('--reflog-expire <age>', 'drop reflog entries older than this (default 30d; now, never); they keep old and deleted heads')
      .option('-v, --verbose', 'print each phase on stderr as it ends')
      .option('--dry-run', 'report what would be deleted')
      .option('--json', 'print the report as JSON')
      .action(async (o: { full?: boolean; keepLast?: string; keepNewerThan?: string; reflogExpire?: string; verbose?: boolean; dryRun?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          // Through another process's socket the store cannot be listed or swept: refuse before
          // anything (a cut, an expired reflog entry) changes.
          if (repo.names instanceof HeldNameStore) {
            throw new CliError('gc needs the repository itself: stop the cafs process holding it (cafs serve or cafs mount), then run gc');
          }
          const keepLast = o.keepLast === undefined ? undefined : Number(o.keepLast);
          if (keepLast !== undefined && !(Number.isSafeInteger(keepLast) && keepLast >= 1)) {
            throw new RepoError('EINVAL', `--keep-last takes a whole number of commits, at least 1 (got ${JSON.stringify(o.keepLast)})`);
          }
          const keepNewerThan = o.keepNewerThan === undefined ? undefined : parseWhen(o.keepNewerThan, repo.now());
          const reflogExpireMs = o.reflogExpire === undefined ? undefined : parseExpire(o.reflogExpire);
          // The LevelDB directory, whose size is reported around the compaction (none on a --store).
          const dir = globals().store === undefined ? repoPath(globals().repo) : undefined;
          const before = dir === undefined ? undefined : await dirSize(dir);
          // This process holds the repository's lock: no other writer can run, so no grace is needed.
          const bar = await progressBar('gc {phase} [{bar}] {value}/{total} {what}', { json: o.json, payload: { phase: 'mark', what: 'roots' } });
          const r = await repo
            .gc({
              mode: o.full ? 'full' : 'incremental',
              keepLast,
              keepNewerThan,
              reflogExpireMs,
              dryRun: o.dryRun === true,
              graceMs: 0,
              onProgress: (p) => {
                if (o.verbose) phaseLine(p);
                if (bar.active && p.phase !== 'cut') bar.update(p.done, p.total, { phase: p.phase, what: p.phase === 'mark' ? 'roots' : 'blobs' });
              },
            })
            .finally(() => bar.stop());
          // Deleted blobs leave LevelDB's files as they were until a compaction rewrites them.
          let disk: { before: number; after: number } | undefined;
          if (before !== undefined && !r.dryRun && r.blobsDeleted > 0 && (await compactStore(repo))) disk = { before, after: await dirSize(dir!) };
          if (o.json) return json(disk === undefined ? r : { ...r, diskBytesBefore: disk.before, diskBytesAfter: disk.after });
          out(`${r.dryRun ? 'would delete' : 'deleted'} ${r.blobsDeleted} blobs (${r.bytesDeleted} bytes), kept ${r.blobsKept}${r.linksCut > 0 ? `, history cut at ${r.linksCut} link${r.linksCut === 1 ? '' : 's'}` : ''}${r.reflogExpired > 0 ? `, ${r.reflogExpired} reflog entr${r.reflogExpired === 1 ? 'y' : 'ies'} expired` : ''}; ${r.mode}${r.fallback ? ' (' + r.fallback + ')' : ''}, ${Math.round(r.durationMs)} ms`);
          if (disk !== undefined) out(`compacted ${dir}: ${mib(disk.before)} -> ${mib(disk.after)} on disk`);
        });
      }),
    'cafs gc\ncafs gc --keep-last 10 --dry-run\ncafs gc --keep-newer-than 30d\ncafs gc --reflog-expire now   # also free deleted branches now',
  );
}
