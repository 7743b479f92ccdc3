// cafs diff: what changed between two refs.
import type { Command } from 'commander';
import type { FsChange } from '@cafs/fs';
import { CliError } from '../errors.js';
import { patchFor, withLinkNotes } from '../patch.js';
import { isUrlRef, openUrlRef, parseUrlRef } from '../remote-ref.js';
import { out, json, example, resolveRoot, normPath, summarizeInfo, type Context } from './shared.js';

export function diffCommand(program: Command, ctx: Context): void {
  const { withSpec } = ctx;
  example(
    program
      .command('diff')
      .argument('<a>', 'first ref')
      .argument('<b>', 'second ref')
      .argument('[path]', 'only below this path')
      .description('what changed from A to B: a unified patch of text files, by default')
      .option('--stat', 'counts of added, removed and changed paths, and changed bytes')
      .option('--name-status', 'one line per path: A, D, M or R and the path')
      .option('--ranges', 'one line per path with the byte ranges that changed, instead of a patch')
      .option('--json', 'print changes as JSON')
      .action(async (a: string, b: string, path: string | undefined, o: { stat?: boolean; nameStatus?: boolean; ranges?: boolean; json?: boolean }) => {
        if (isUrlRef(a) !== isUrlRef(b) || (isUrlRef(a) && parseUrlRef(a).base !== parseUrlRef(b).base)) {
          throw new CliError('diff takes two local refs, or two URLs of one server');
        }
        const second = isUrlRef(b) ? (await openUrlRef(b)).ref : b;
        await withSpec(a, async (repo, refA) => {
          const ra = await resolveRoot(repo, refA);
          const rb = await resolveRoot(repo, second);
          const found: FsChange[] = [];
          for await (const c of repo.fs.diff(ra.root, rb.root, { ranges: true, renames: true, ...(path ? { path: normPath(path) } : {}) })) found.push(c);
          // Hard links: names that joined or left an inode, said as such.
          const { changes, notes } = await withLinkNotes(repo, ra.root, rb.root, found, path ? normPath(path) : '/');
          const letter = { add: 'A', remove: 'D', change: 'M', rename: 'R' } as const;
          const summary = (info: FsChange['left']): Record<string, unknown> | undefined =>
            info === undefined ? undefined : { ...summarizeInfo(info), nlink: info.type === 'directory' ? undefined : 1 + (info.links?.length ?? 0) };
          if (o.json) {
            return json(
              changes.map((c) => ({
                op: c.op,
                path: c.path,
                from: c.from,
                left: summary(c.left),
                right: summary(c.right),
                ranges: c.ranges?.map((r) => [Number(r.start), Number(r.end)]),
                hardLinkTo: notes.get(c)!.linkTo,
                wasHardLinkTo: notes.get(c)!.wasLinkTo,
              })),
            );
          }
          if (o.stat) {
            const n = { add: 0, remove: 0, change: 0, rename: 0 };
            let bytes = 0n;
            for (const c of changes) {
              n[c.op]++;
              if (o.stat) for (const r of c.ranges ?? []) bytes += r.end - r.start;
              // A new (or removed) hard link of a file there (or still there) is no new content.
              if (notes.get(c)!.contentElsewhere) continue;
              if (c.op === 'add' && c.right?.type === 'file') bytes += c.right.size;
              if (c.op === 'remove' && c.left?.type === 'file') bytes += c.left.size;
            }
            out(`${changes.length} paths changed: ${n.add} added, ${n.remove} removed, ${n.change} changed, ${n.rename} renamed; ${bytes} bytes differ`);
            return;
          }
          if (!o.nameStatus && !o.ranges) {
            for (const c of changes) for (const line of await patchFor(repo, ra.root, rb.root, c, notes.get(c))) out(line);
            return;
          }
          for (const c of changes) {
            if (o.nameStatus) out(`${letter[c.op]}\t${c.op === 'rename' ? c.from + '\t' : ''}${c.path}`);
            else {
              const t = (c.right ?? c.left)!.type === 'directory' && c.path !== '/' ? '/' : '';
              const n = notes.get(c)!;
              const links = (n.wasLinkTo !== undefined ? ` (${c.op === 'remove' ? 'was a' : 'no longer a'} hard link to ${n.wasLinkTo})` : '') + (n.linkTo !== undefined ? ` (hard link to ${n.linkTo})` : '');
              const detail =
                c.op === 'rename'
                  ? ` (from ${c.from})`
                  : c.ranges && c.ranges.length > 0
                    ? ` bytes ${c.ranges.map((r) => `${r.start}-${r.end}`).join(',')}`
                    : c.op === 'change' && c.left && c.right && c.left.mode !== c.right.mode
                      ? ` mode ${c.left.mode.toString(8)} -> ${c.right.mode.toString(8)}`
                      : '';
              out(`${letter[c.op]} ${c.path}${t}${detail}${links}`);
            }
          }
        });
      }),
    'cafs diff main~1 main\ncafs diff v1 v2 /src --name-status\ncafs diff v1 v2 --ranges',
  );
}
