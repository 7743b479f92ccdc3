// cafs merge: merge a ref into a branch.
import type { Command } from 'commander';
import type { Hash } from '@cafs/kv';
import { CliError } from '../errors.js';
import { hex, out, json, example, type Context } from './shared.js';

export function mergeCommand(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  example(
    program
      .command('merge')
      .argument('<ref>', 'what to merge')
      .description('merge REF into a branch (fast-forward when possible, else three-way)')
      .option('-b, --branch <name>', 'the branch to merge into', 'main')
      .option('-m, --message <msg>', 'the merge commit message')
      .option('--allow-conflicts', 'commit even with conflicts (they keep the branch\'s side)')
      .option('--json', 'print the result as JSON')
      .action(async (ref: string, o: { branch: string; message?: string; allowConflicts?: boolean; json?: boolean }) => {
        await withRepo(async (repo) => {
          const r = await repo.merge(o.branch, ref, { message: o.message ?? `merge ${ref} into ${o.branch}`, allowConflicts: o.allowConflicts === true });
          const res = r as unknown as { commit?: Hash; fastForward?: boolean; conflicts: { kind: string; path: string }[] };
          const conflicts = res.conflicts.map((c) => ({ kind: c.kind, path: c.path }));
          if (o.json) json({ commit: res.commit ? hex(res.commit) : undefined, fastForward: res.fastForward, conflicts });
          else {
            for (const c of conflicts) process.stderr.write(`CONFLICT (${c.kind}): ${c.path}\n`);
            if (res.commit) out(`merged ${ref} into ${o.branch}: ${hex(res.commit).slice(0, 12)}${res.fastForward ? ' (fast-forward)' : ''}`);
          }
          if (!res.commit && conflicts.length > 0) throw new CliError(`merge of ${ref} into ${o.branch} has ${conflicts.length} conflicts; nothing committed (use --allow-conflicts)`);
        });
      }),
    'cafs merge feature\ncafs merge main --branch release -m "sync"',
  );
}
