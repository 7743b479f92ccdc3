// cafs branch and cafs tag: list, create or delete a name.
import type { Command } from 'commander';
import type { Repo } from '@cafs/repo';
import { CliError } from '../errors.js';
import { hex, out, json, example, type Context } from './shared.js';

export function namesCommands(program: Command, ctx: Context): void {
  const { withRepo } = ctx;
  // branch and tag: list, create (NAME [REF]) or delete (-d NAME) a name.
  const nameCommand = (spec: {
    kind: 'branch' | 'tag';
    plural: string;
    refArg: string;
    list: (repo: Repo) => Promise<{ name: string; commit: Uint8Array }[]>;
    create: (repo: Repo, name: string, ref: string) => Promise<Uint8Array>;
    remove: (repo: Repo, name: string) => Promise<void>;
    created: (name: string, commit: string) => string;
    example: string;
  }): void => {
    example(
      program
        .command(spec.kind)
        .argument('[name]', `create this ${spec.kind}`)
        .argument(`[${spec.refArg}]`, 'at this ref', 'main')
        .description(`list ${spec.plural}, create one (NAME [${spec.refArg.toUpperCase()}]) or delete one (-d NAME)`)
        .option('-d, --delete', `delete the ${spec.kind}`)
        .option('-D, --force-delete', spec.kind === 'branch' ? 'delete even the last branch' : 'the same as -d')
        .option('--json', 'print as JSON')
        .action(async (name: string | undefined, ref: string, o: { delete?: boolean; forceDelete?: boolean; json?: boolean }) => {
          if (o.forceDelete) o.delete = true;
          await withRepo(async (repo) => {
            if (name === undefined) {
              if (o.delete) throw new CliError(`${spec.kind} -d needs a name`);
              const list = await spec.list(repo);
              if (o.json) return json(list.map((b) => ({ name: b.name, commit: hex(b.commit) })));
              for (const b of list) out(`${b.name}\t${hex(b.commit).slice(0, 12)}`);
              return;
            }
            if (o.delete) {
              const list = await spec.list(repo);
              const gone = list.find((b) => b.name === name);
              if (spec.kind === 'branch' && gone !== undefined && list.length === 1 && !o.forceDelete) {
                throw new CliError(`refusing to delete ${name}, the only branch (history would be unreachable); -D deletes it anyway`);
              }
              await spec.remove(repo, name);
              if (o.json) json({ deleted: name, commit: gone ? hex(gone.commit) : undefined });
              else out(`deleted ${spec.kind} ${name}${gone ? ` (was ${hex(gone.commit).slice(0, 12)}; \`cafs ${spec.kind} ${name} ${hex(gone.commit)}\` restores it${spec.kind === 'branch' ? ', `cafs reflog` lists old heads' : ''})` : ''}`);
              return;
            }
            const c = await spec.create(repo, name, ref);
            if (o.json) json({ name, commit: hex(c) });
            else out(spec.created(name, hex(c).slice(0, 12)));
          });
        }),
      spec.example,
    );
  };
  nameCommand({
    kind: 'branch',
    plural: 'branches',
    refArg: 'from',
    list: (repo) => repo.branches(),
    create: (repo, name, ref) => repo.createBranch(name, ref),
    remove: (repo, name) => repo.deleteBranch(name),
    created: (name, commit) => `created branch ${name} at ${commit}`,
    example: 'cafs branch\ncafs branch feature main\ncafs branch -d feature',
  });
  nameCommand({
    kind: 'tag',
    plural: 'tags',
    refArg: 'ref',
    list: (repo) => repo.tags(),
    create: (repo, name, ref) => repo.createTag(name, ref),
    remove: (repo, name) => repo.deleteTag(name),
    created: (name, commit) => `tagged ${commit} as ${name}`,
    example: 'cafs tag v1.0 main\ncafs tag -d v1.0',
  });
}
