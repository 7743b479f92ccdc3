// cafs stat: the metadata of a path.
import type { Command } from 'commander';
import { hex, out, json, example, resolveRoot, normPath, type Context } from './shared.js';

export function statCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('stat')
      .argument('<spec>', 'REF[:PATH]')
      .description('show the metadata of a path (and the ref it resolves to)')
      .option('--json', 'print as JSON')
      .action(async (spec: string, o: { json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          const { root, commit } = await resolveRoot(repo, ref);
          const st = await repo.fs.lstat(root, normPath(path));
          const info = {
            path: normPath(path),
            type: st.type,
            mode: '0' + (st.mode & 0o7777).toString(8),
            size: Number(st.size),
            blocks: Number(st.blocks),
            // Names of the inode (hard links; a directory: 2 + its subdirectories, 1 when too many
            // entries to count), and its number, equal for all its names.
            nlink: st.isDirectory() ? ((await repo.fs.subdirCount(root, normPath(path))) ?? -1) + 2 : st.nlink,
            ino: st.ino,
            uid: st.uid,
            gid: st.gid,
            mtime: st.mtime.toISOString(),
            mtimeNs: String(st.mtimeNs),
            ctimeNs: String(st.ctimeNs),
            target: st.type === 'symlink' ? await repo.fs.readlink(root, normPath(path)) : undefined,
            root: hex(root),
            commit: commit ? hex(commit) : undefined,
          };
          if (o.json) return json(info);
          for (const [k, v] of Object.entries(info)) if (v !== undefined) out(`${k.padEnd(8)} ${v}`);
        });
      }),
    'cafs stat main:/README.md',
  );
}
