// cafs reflog: the recent moves of branches, deleted ones included, newest first.
import type { Command } from 'commander';
import type { ReflogEntry, Repo } from '@cafs/repo';
import { CliError } from '../errors.js';
import { hex, out, json, example, type Context } from './shared.js';

const VERB: Record<ReflogEntry['kind'], string> = { create: 'created', update: 'moved', delete: 'deleted' };

export function reflogCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('reflog')
      .argument('[branch]', 'only this branch (default: every branch, deleted ones too)')
      .description('recent moves of branches, newest first: find a deleted branch or a head lost to a reset')
      .option('-n, --max-count <n>', 'at most this many entries')
      .option('--json', 'print entries as JSON')
      .action(async (branch: string | undefined, o: { maxCount?: string; json?: boolean }) => {
        await withRepo(async (repo: Repo) => {
          const limit = o.maxCount === undefined ? Infinity : Number(o.maxCount);
          if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) throw new CliError(`bad --max-count ${o.maxCount}`);
          const all = await repo.reflog(branch);
          // branch@{N}: N counts the branch's moves back from its newest.
          const seen = new Map<string, number>();
          const rows = all
            .reverse()
            .map((e) => {
              const n = seen.get(e.branch) ?? 0;
              seen.set(e.branch, n + 1);
              return { e, at: `${e.branch}@{${n}}` };
            })
            .slice(0, limit);
          // One at a time: through a holder's socket, thousands of reads at once would flood it.
          const described: { ref: string; branch: string; kind: ReflogEntry['kind']; commit: string; time: string; message: string | undefined }[] = [];
          for (const { e, at } of rows) {
            const c = await repo.readCommitIfKept(e.commit);
            described.push({
              ref: at,
              branch: e.branch,
              kind: e.kind,
              commit: hex(e.commit),
              time: new Date(Number(e.timeNs / 1_000_000n)).toISOString(),
              message: c === undefined ? undefined : c.message.split('\n')[0]!,
            });
          }
          if (o.json) return json(described);
          if (all.length === 0) out(branch === undefined ? 'no branch has moved yet' : `no moves of ${branch} are recorded`);
          for (const d of described) {
            out(`${d.commit.slice(0, 12)} ${d.ref.padEnd(12)} ${d.time} ${VERB[d.kind]}: ${d.message === undefined ? '(commit collected)' : d.message}`);
          }
        });
      }),
    'cafs reflog\ncafs reflog main -n 5\ncafs branch topic topic@{0}   # restore a deleted branch',
  );
}
