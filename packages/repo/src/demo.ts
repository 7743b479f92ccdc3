// `pnpm start`: a tour of cafs on the embedded in-memory store: a drive, commits, a branch,
// a merge, history and a diff.
import { hashToHex } from '@cafs/kv';
import { Repo } from './index.js';

const short = (h: Uint8Array): string => hashToHex(h).slice(0, 12);

async function main(): Promise<void> {
  const repo = await Repo.open();
  await repo.init();

  // A drive is the mutable session: node:fs/promises names, each change a new root.
  const main = await repo.drive('main');
  await main.mkdir('/src/lib', { recursive: true });
  await main.writeFile('/README.md', '# demo\n');
  await main.writeFile('/src/lib/util.js', 'export const answer = 42;\n');
  const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);
  await main.writeFile('/data.bin', big);
  const c1 = await main.commit('add sources and data');
  console.log(`main: committed ${short(c1)}, root ${short(main.root)}`);

  // A branch is O(1): a name for a commit.
  await repo.createBranch('feature', 'main');
  const feature = await repo.drive('feature');
  await feature.appendFile('/README.md', 'feature notes\n');
  const fh = await feature.open('/data.bin', 'r+');
  await fh.write(new Uint8Array([1, 2, 3]), 0, 3, 3_000_000);
  await fh.close();
  await feature.commit('feature: notes and a patch in data.bin');

  await main.writeFile('/src/lib/util.js', 'export const answer = 43;\n');
  await main.commit('main: bump the answer');

  const merged = await repo.merge('main', 'feature', { message: 'merge feature' });
  console.log(`merge feature into main: ${merged.conflicts.length} conflicts, commit ${merged.commit ? short(merged.commit) : '-'}`);

  const { root } = await repo.resolve('main');
  const readme = new TextDecoder().decode(await repo.fs.readFile(root, '/README.md'));
  const util = new TextDecoder().decode(await repo.fs.readFile(root, '/src/lib/util.js'));
  const patched = await repo.fs.read(root, '/data.bin', { offset: 3_000_000, length: 3 });
  console.log(`merged README: ${JSON.stringify(readme)}`);
  console.log(`merged util.js: ${JSON.stringify(util)}`);
  console.log(`merged data.bin bytes at 3000000: ${[...patched].join(',')}`);

  console.log('log main:');
  for await (const e of repo.log('main')) {
    console.log(`  ${short(e.hash)} ${e.commit.parents.length === 2 ? '(merge) ' : ''}${e.commit.message}`);
  }

  console.log('diff main~1..main (first parent):');
  const before = (await repo.resolve('main~1')).root;
  for await (const c of repo.fs.diff(before, root, { ranges: true })) {
    const ranges = c.ranges?.map((r) => `${r.start}-${r.end}`).join(' ') ?? '';
    console.log(`  ${c.op} ${c.path}${ranges ? ' bytes ' + ranges : ''}`);
  }

  const snapshot = await main.checkout('main~2');
  console.log(`main~2 still reads util.js as ${JSON.stringify(await snapshot.readFile('/src/lib/util.js', 'utf8'))}`);
  await repo.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
