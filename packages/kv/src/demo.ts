// `pnpm start`: a tour of @cafs/kv on the embedded in-memory store.
import { EMPTY_ROOT, MemoryBlobStore, Tree, fromUtf8, hashToHex, utf8, type Edit } from './node.js';

const short = (h: Uint8Array): string => hashToHex(h).slice(0, 16);

async function main(): Promise<void> {
  const tree = new Tree(new MemoryBlobStore());
  const n = 200_000;
  const key = (i: number): Uint8Array => utf8(`user/${String(i).padStart(7, '0')}`);

  let t = performance.now();
  const builder = tree.builder();
  for (let i = 0; i < n; i++) builder.add(key(i), utf8(`{"id":${i},"name":"user ${i}"}`));
  const v1 = await builder.finish();
  console.log(`bulk-loaded ${n.toLocaleString()} entries in ${(performance.now() - t).toFixed(0)} ms -> root ${short(v1)}`);

  t = performance.now();
  const edits: Edit[] = [];
  for (let i = 0; i < 10_000; i++) {
    const j = (i * 7919) % n;
    edits.push(i % 3 === 0 ? { type: 'del', key: key(j) } : { type: 'put', key: key(j), value: utf8(`{"id":${j},"v":2}`) });
  }
  const v2 = await tree.mutate(v1, edits);
  console.log(`applied 10,000 edits in one batch in ${(performance.now() - t).toFixed(0)} ms -> root ${short(v2)}`);

  const probe = key(7919);
  const before = await tree.get(v1, probe);
  const after = await tree.get(v2, probe);
  console.log(`both versions stay readable: ${fromUtf8(probe)} was ${before ? fromUtf8(before) : '(absent)'}, is ${after ? fromUtf8(after) : '(absent)'}`);

  // History independence: the same entries reached another way give the same root.
  let v3 = await tree.mutate(v2, [{ type: 'put', key: utf8('tmp/a'), value: utf8('x') }]);
  v3 = await tree.delete(v3, utf8('tmp/a'));
  console.log(`put then delete of another key returns to the same root: ${hashToHex(v3) === hashToHex(v2)}`);

  t = performance.now();
  let adds = 0;
  let removes = 0;
  let changes = 0;
  for await (const d of tree.diff(v1, v2)) {
    if (d.left === undefined) adds++;
    else if (d.right === undefined) removes++;
    else changes++;
  }
  console.log(`diff v1..v2: ${changes} changed, ${removes} removed, ${adds} added in ${(performance.now() - t).toFixed(0)} ms`);

  const range: string[] = [];
  for await (const e of tree.entries(v2, { gte: utf8('user/0100000'), limit: 3 })) range.push(fromUtf8(e.key));
  console.log(`first three keys from user/0100000: ${range.join(', ')}`);
  console.log(`empty tree root: ${hashToHex(EMPTY_ROOT)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
