// cafs commit --mount DIR: commit what a branch mount holds now.
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { requestCommit } from '../mount-control.js';
import { out, json, example, type Context } from './shared.js';

export function commitCommand(program: Command, _ctx: Context): void {
  example(
    program
      .command('commit')
      .description("commit a branch mount's changes now (they are also committed after a quiet period and at unmount)")
      .requiredOption('--mount <dir>', 'the mountpoint of a running `cafs mount BRANCH DIR`')
      .option('-m, --message <msg>', 'the commit message (default: the changes, named)')
      .option('--json', 'print the result as JSON')
      .action(async (o: { mount: string; message?: string; json?: boolean }) => {
        if (o.message !== undefined && o.message.trim() === '') throw new CliError('--message needs some text');
        const commit = await requestCommit(o.mount, o.message);
        if (o.json) json({ mountpoint: o.mount, commit });
        else out(`head ${(commit ?? '').slice(0, 12)}`);
      }),
    'cafs commit --mount /mnt/cafs -m "after the build"',
  );
}
