// cafs ls: list a directory of a tree.
import type { Command } from 'commander';
import { devMajor, devMinor } from '@cafs/fs';
import { userName, groupName } from '../owners.js';
import { out, json, example, modeString, timeString, resolveRoot, normPath, type Context } from './shared.js';

export function lsCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('ls')
      .argument('[spec]', 'REF[:PATH]', 'main')
      .description('list a directory of a tree')
      .option('-l, --long', 'mode, link count, owner, group, size, time')
      .option('-n, --numeric-uid-gid', 'like -l, with numeric user and group ids')
      .option('-R, --recursive', 'list subdirectories too')
      .option('--json', 'print entries as JSON')
      .action(async (spec: string, o: { long?: boolean; numericUidGid?: boolean; recursive?: boolean; json?: boolean }) => {
        await withSpec(spec, async (repo, ref, path) => {
          const { root } = await resolveRoot(repo, ref);
          const start = normPath(path);
          const wantLinks = o.long === true || o.numericUidGid === true || o.json === true;
          // A directory's link count is 2 + its subdirectories (counted up to 10,000 entries; 1,
          // "not counted", beyond, as btrfs and find's -noleaf take it); another entry's its names.
          const links = async (p: string, l: { type: string; nlink: number }): Promise<number> =>
            l.type === 'directory' && wantLinks ? ((await repo.fs.subdirCount(root, p)) ?? -1) + 2 : l.nlink;
          const rows: { path: string; name: string; type: string; mode: number; uid: number; gid: number; size: number; nlink: number; mtime: string; target?: string; rdev?: number }[] = [];
          const visit = async (dir: string): Promise<void> => {
            const st = await repo.fs.stat(root, dir);
            if (!st.isDirectory()) {
              const l = await repo.fs.lstat(root, dir);
              rows.push({ path: dir, name: dir.split('/').pop()!, type: l.type, mode: l.mode & 0o7777, uid: l.uid, gid: l.gid, size: Number(l.size), nlink: await links(dir, l), mtime: timeString(l.mtimeNs) });
              return;
            }
            const sub: string[] = [];
            for (const e of await repo.fs.readdir(root, dir, { withFileTypes: true })) {
              const p = dir === '/' ? '/' + e.name : dir + '/' + e.name;
              const l = await repo.fs.lstat(root, p);
              const row: (typeof rows)[number] = { path: p, name: e.name, type: l.type, mode: l.mode & 0o7777, uid: l.uid, gid: l.gid, size: Number(l.size), nlink: await links(p, l), mtime: timeString(l.mtimeNs) };
              if (l.type === 'symlink') row.target = await repo.fs.readlink(root, p);
              if (l.isCharacterDevice() || l.isBlockDevice()) row.rdev = l.rdev;
              rows.push(row);
              if (o.recursive && l.type === 'directory') sub.push(p);
            }
            for (const s of sub) await visit(s);
          };
          await visit(start);
          if (o.json) return json(rows);
          const long = o.long === true || o.numericUidGid === true; // -n implies -l, as in GNU ls
          const owner = (r: (typeof rows)[number]): string => (o.numericUidGid ? String(r.uid) : userName(r.uid));
          const group = (r: (typeof rows)[number]): string => (o.numericUidGid ? String(r.gid) : groupName(r.gid));
          const ow = long ? rows.reduce((w, r) => Math.max(w, owner(r).length), 0) : 0;
          const gw = long ? rows.reduce((w, r) => Math.max(w, group(r).length), 0) : 0;
          // The number of names (hard links), right-aligned as GNU ls prints it.
          const nw = long ? rows.reduce((w, r) => Math.max(w, String(r.nlink).length), 0) : 0;
          for (const r of rows) {
            const name = o.recursive ? r.path : r.name;
            const shown = r.type === 'directory' ? name + '/' : name;
            // A device shows "major, minor" where a file shows its size, as GNU ls does.
            const size = r.rdev === undefined ? String(r.size) : `${devMajor(r.rdev)}, ${devMinor(r.rdev)}`;
            if (long) out(`${modeString(r)} ${String(r.nlink).padStart(nw)} ${owner(r).padEnd(ow)} ${group(r).padEnd(gw)} ${size.padStart(10)} ${r.mtime} ${shown}${r.target !== undefined ? ' -> ' + r.target : ''}`);
            else out(shown);
          }
        });
      }),
    'cafs ls -l main:/src\ncafs ls -n main\ncafs ls -R v1.0',
  );
}
