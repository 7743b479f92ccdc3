// cafs log: history, newest first.
import type { Command } from 'commander';
import type { Commit } from '@cafs/repo';
import { CliError } from '../errors.js';
import { hex, out, json, example, type Context } from './shared.js';

export function logCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('log')
      .argument('[ref]', 'branch or ref', 'main')
      .description('history, newest first')
      .option('-n, --max-count <n>', 'at most this many commits')
      .option('--oneline', 'one line per commit')
      .option('--json', 'print commits as JSON')
      .action(async (ref: string, o: { maxCount?: string; oneline?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const limit = o.maxCount === undefined ? undefined : Number(o.maxCount);
          if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new CliError(`bad --max-count ${o.maxCount}`);
          const rows: { commit: string; root: string; parents: string[]; time: string; author?: string; message: string; collected?: string[] }[] = [];
          for await (const e of repo.log(ref, limit === undefined ? {} : { limit })) {
            const c: Commit = e.commit;
            rows.push({ commit: hex(e.hash), root: hex(c.root), parents: c.parents.map(hex), time: new Date(Number(c.timeNs / 1_000_000n)).toISOString(), author: c.author, message: c.message });
            if (e.collected !== undefined) rows[rows.length - 1]!.collected = e.collected.map(hex);
          }
          if (o.json) return json(rows);
          for (const r of rows) {
            if (o.oneline) out(`${r.commit.slice(0, 12)} ${r.message.split('\n')[0]}`);
            else {
              out(`commit ${r.commit}${r.parents.length > 1 ? '\nMerge:  ' + r.parents.map((p) => p.slice(0, 12)).join(' ') : ''}`);
              if (r.author) out(`Author: ${r.author}`);
              out(`Date:   ${r.time}\nRoot:   ${r.root}\n\n    ${r.message.split('\n').join('\n    ')}\n`);
            }
            if (r.collected !== undefined) {
              const which = r.collected.map((p) => p.slice(0, 12)).join(', ');
              out(o.oneline ? `  (older history collected by gc: ${which})` : `    (history before this commit was collected by gc: ${which})\n`);
            }
          }
        });
      }),
    'cafs log\ncafs log feature --oneline -n 5',
  );
}
