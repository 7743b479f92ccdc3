// One walk for "is this commit in that one's history", over whatever parent links the caller
// follows (cuts honoured, commits cached or read as needed).
import { bytesToHex, type Hash } from '@cafs/kv';

/** Whether `ancestor` is `from` or reachable from it through `parentsOf` (undefined: history ends). */
export async function reaches(ancestor: Hash, from: Hash, parentsOf: (h: Hash) => Promise<readonly Hash[] | undefined>): Promise<boolean> {
  const goal = bytesToHex(ancestor);
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const h = stack.pop()!;
    const id = bytesToHex(h);
    if (id === goal) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    const parents = await parentsOf(h);
    if (parents !== undefined) stack.push(...parents);
  }
  return false;
}
