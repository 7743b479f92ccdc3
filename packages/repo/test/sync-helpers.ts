import { Tree, bytesToHex, type BlobStore, type Hash } from '@cafs/kv';
import { decodeCommit } from '../src/commit.js';
import { leafRefs } from '../src/tree-walk.js';

/** Every blob a commit reaches (its history, trees and data) that `store` lacks. */
export async function fsck(store: BlobStore, commit: Hash): Promise<{ missing: string[] }> {
  const tree = new Tree(store);
  const missing: string[] = [];
  const seen = new Set<string>();
  const stack = [commit];
  while (stack.length > 0) {
    const c = stack.pop()!;
    if (seen.has(bytesToHex(c))) continue;
    seen.add(bytesToHex(c));
    const [has] = await store.has([c]);
    if (!has) {
      missing.push(bytesToHex(c));
      continue;
    }
    const parsed = decodeCommit(await store.get(c));
    stack.push(...parsed.parents);
    for await (const h of tree.reachableNodes(parsed.root)) {
      const node = await tree.nodes.root(h);
      if (node.level === 0) {
        const refs: Hash[] = [];
        leafRefs(node, (r) => refs.push(r));
        const present = await store.has(refs);
        refs.forEach((r, i) => present[i] || missing.push(bytesToHex(r)));
      }
    }
  }
  return { missing };
}
