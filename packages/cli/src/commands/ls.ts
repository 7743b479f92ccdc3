// cafs ls: list a directory of a tree.
import type { Command } from 'commander';
import { out, json, example, modeString, timeString, resolveRoot, normPath, type Context } from './shared.js';

export function lsCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('ls')
      .argument('[spec]', 'REF[:PATH]', 'main')
      .description('list a directory of a tree')
      .option('-l, --long', 'mode, size, time')
      .option('-R, --recursive', 'list subdirectories too')
      .option('--json', 'print entries as JSON')
      .action(async (spec: string, o: { long?: boolean; recursive?: boolean; json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          const { root } = await resolveRoot(repo, ref);
          const start = normPath(path);
          const rows: { path: string; name: string; type: string; mode: number; size: number; mtime: string; target?: string }[] = [];
          const visit = async (dir: string): Promise<void> => {
            const st = await repo.fs.stat(root, dir);
            if (!st.isDirectory()) {
              const l = await repo.fs.lstat(root, dir);
              rows.push({ path: dir, name: dir.split('/').pop()!, type: l.type, mode: l.mode & 0o7777, size: Number(l.size), mtime: timeString(l.mtimeNs) });
              return;
            }
            const sub: string[] = [];
            for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
              const p = dir === '/' ? '/' + e.name : dir + '/' + e.name;
              const l = await repo.fs.lstat(root, p);
              const row: (typeof rows)[number] = { path: p, name: e.name, type: l.type, mode: l.mode & 0o7777, size: Number(l.size), mtime: timeString(l.mtimeNs) };
              if (l.type === 'symlink') row.target = await repo.fs.readlink(root, p);
              rows.push(row);
              if (o.recursive && l.type === 'directory') sub.push(p);
            }
            for (const s of sub) await visit(s);
          };
          await visit(start);
          if (o.json) return json(rows);
          for (const r of rows) {
            const name = o.recursive ? r.path : r.name;
            const shown = r.type === 'directory' ? name + '/' : name;
            if (o.long) out(`${modeString(r)} ${String(r.size).padStart(10)} ${r.mtime} ${shown}${r.target !== undefined ? ' -> ' + r.target : ''}`);
            else out(shown);
          }
        });
      }),
    'cafs ls -l main:/src\ncafs ls -R v1.0',
  );
}
