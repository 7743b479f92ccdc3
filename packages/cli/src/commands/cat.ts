// cafs cat: print a file's content.
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { example, resolveRoot, normPath, type Context } from './shared.js';

export function catCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('cat')
      .argument('<spec>', 'REF:PATH')
      .description("print a file's content")
      .action(async (spec: string) => {
        await withSpec(spec, async (repo, ref, path) => {
          if (normPath(path) === '/') throw new CliError('cat needs REF:PATH (or a URL with a path)');
          const { root } = await resolveRoot(repo, ref);
          const st = await repo.fs.stat(root, path);
          if (st.isDirectory()) throw new CliError(`${path} is a directory`);
          for await (const piece of repo.fs.stream(root, path)) {
            if (!process.stdout.write(piece)) await new Promise((r) => process.stdout.once('drain', r));
          }
        });
      }),
    'cafs cat main:/README.md\ncafs cat main~2:/etc/config.json | jq .',
  );
}
