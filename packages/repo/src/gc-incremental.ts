// An incremental collection: work in proportion to what changed since the previous one (see
// the comment at the top of gc.ts for why its candidates are complete and its checks exact).
import { Tree, bytesToHex, compareBytes, equalBytes, type Edit, type Hash, type TreeNode } from '@cafs/kv';
import { leafRefs, loadNode, nodeDiff, treeHasNode } from './tree-walk.js';
import { EMPTY, EMPTY_ID, K_DATA, K_HEAD, K_KEPT, K_ROOT, countValue, dec, enc, metaKey, readMeta, type State } from './gc-meta.js';
import type { GcOptions, Plan, Retention } from './gc-types.js';
import type { Repo } from './repo.js';

/** Candidates from what changed since the previous collection, each checked against the live set. */
export async function planIncremental(
  tree: Tree,
  repo: Repo,
  now: Retention,
  state: State,
  journal: readonly Hash[],
  options: GcOptions,
): Promise<Plan> {
  const signal = options.signal;
  const before = await readMeta(tree, state.meta);
  const rootsNow = [...now.roots.values()].map((r) => r.hash).sort(compareBytes);
  const rootsBefore = [...before.roots.values()].map((r) => r.hash).sort(compareBytes);
  const anyRoot = (rs: Hash[]): Hash | undefined => rs[0];

  // Nodes seen by the diffs, and what is known of them.
  const dropNodes = new Map<string, Hash>(); // only on the dropped side of some diff
  const addNodes = new Map<string, Hash>(); // only on the new side of some diff
  const inNow = new Map<string, boolean>(); // memo: node is in some retained root now
  const inBefore = new Map<string, boolean>();
  const nodeIn = async (memo: Map<string, boolean>, roots: Hash[], x: TreeNode): Promise<boolean> => {
    const id = x.id;
    let v = memo.get(id);
    if (v === undefined) {
      v = false;
      for (const r of roots) if (await treeHasNode(tree, r, x)) { v = true; break; }
      memo.set(id, v);
    }
    return v;
  };
  /**
   * Diffs `from` (or nothing) against `to`: nodes only in `from` go to `left`, nodes only in
   * `to` to `right`. A pair is diffed once (a moved branch is both a dropped and a new root).
   */
  const diffs = new Map<string, { l: Map<string, Hash>; r: Map<string, Hash> }>();
  const changed = async (from: Hash | undefined, to: Hash, left: Map<string, Hash>, right: Map<string, Hash>): Promise<void> => {
    const pair = `${from === undefined ? '' : bytesToHex(from)}:${bytesToHex(to)}`;
    let d = diffs.get(pair);
    if (d === undefined) {
      const l = new Map<string, Hash>();
      const r = new Map<string, Hash>();
      if (from === undefined) {
        for await (const h of tree.reachableNodes(to, { signal })) r.set(bytesToHex(h), h);
      } else {
        await nodeDiff(tree, from, to, (side, h) => (side === 'left' ? l : r).set(bytesToHex(h), h), signal);
        // A node on both sides of one diff is in both trees.
        for (const id of [...l.keys()]) {
          if (r.has(id)) {
            l.delete(id);
            r.delete(id);
          }
        }
      }
      d = { l, r };
      diffs.set(pair, d);
    }
    for (const [id, h] of d.l) left.set(id, h);
    for (const [id, h] of d.r) right.set(id, h);
  };

  // Roots that left the retained set, each against its branch's head now (or any retained root).
  for (const [id, d] of before.roots) {
    if (now.roots.has(id)) continue;
    const succ = now.heads.get(d.label) ?? anyRoot(rootsNow);
    if (succ === undefined) await changed(undefined, d.hash, new Map(), dropNodes);
    else await changed(d.hash, succ, dropNodes, new Map());
  }
  // Roots that entered it, each against its branch's previous head (or any previously retained root).
  for (const [id, n] of now.roots) {
    if (before.roots.has(id)) continue;
    const base = before.heads.get(n.label) ?? anyRoot(rootsBefore);
    await changed(base, n.hash, new Map(), addNodes);
  }

  // Leaves that left / entered the live set move the data reference counts.
  const delta = new Map<string, { hash: Hash; n: number }>();
  const bump = (h: Hash, by: number): void => {
    const id = bytesToHex(h);
    const d = delta.get(id);
    if (d !== undefined) d.n += by;
    else delta.set(id, { hash: h, n: by });
  };
  const droppedNodes = new Map<string, Hash>(); // verified: in live(P), not in any retained tree now
  for (const [id, h] of dropNodes) {
    signal?.throwIfAborted();
    const x = await loadNode(tree, h);
    if (x === undefined || (await nodeIn(inNow, rootsNow, x))) continue;
    droppedNodes.set(id, h);
    if (x.level === 0) leafRefs(x, (r) => bump(r, -1));
  }
  const addedNodes = new Map<string, Hash>(); // verified: in a retained tree now, in none before
  for (const [id, h] of addNodes) {
    signal?.throwIfAborted();
    const x = await loadNode(tree, h);
    if (x === undefined || (await nodeIn(inBefore, rootsBefore, x))) continue;
    addedNodes.set(id, h);
    if (x.level === 0) leafRefs(x, (r) => bump(r, +1));
  }

  // The new meta tree: edits for what changed.
  const edits: Edit[] = [];
  const countBefore = new Map<string, number>();
  const dataBefore = async (id: string, h: Hash): Promise<number> => {
    let n = countBefore.get(id);
    if (n === undefined) {
      const v = await tree.get(state.meta, metaKey(K_DATA, h));
      n = v === undefined ? 0 : Number(dec.decode(v));
      countBefore.set(id, n);
    }
    return n;
  };
  for (const [id, d] of delta) {
    if (d.n === 0) continue;
    const n = (await dataBefore(id, d.hash)) + d.n;
    if (n < 0) throw new Error(`gc state is inconsistent: data blob ${id} has a negative reference count`);
    edits.push(n === 0 ? { type: 'del', key: metaKey(K_DATA, d.hash) } : { type: 'put', key: metaKey(K_DATA, d.hash), value: countValue(n) });
  }
  for (const [id, k] of before.kept) if (!now.kept.has(id)) edits.push({ type: 'del', key: metaKey(K_KEPT, k.hash) });
  for (const [id, k] of now.kept) {
    const b = before.kept.get(id);
    if (b === undefined || (b.root === undefined) !== (k.root === undefined)) edits.push({ type: 'put', key: metaKey(K_KEPT, k.hash), value: k.root ?? EMPTY });
  }
  for (const br of before.heads.keys()) if (!now.heads.has(br)) edits.push({ type: 'del', key: metaKey(K_HEAD, enc.encode(br)) });
  for (const [br, root] of now.heads) {
    const b = before.heads.get(br);
    if (b === undefined || !equalBytes(b, root)) edits.push({ type: 'put', key: metaKey(K_HEAD, enc.encode(br)), value: root });
  }
  for (const [id, r] of before.roots) if (!now.roots.has(id)) edits.push({ type: 'del', key: metaKey(K_ROOT, r.hash) });
  for (const [id, r] of now.roots) {
    const b = before.roots.get(id);
    if (b === undefined || b.label !== r.label) edits.push({ type: 'put', key: metaKey(K_ROOT, r.hash), value: enc.encode(r.label) });
  }
  const meta = await tree.mutate(state.meta, edits);
  const metaDrop = new Map<string, Hash>();
  const metaAdd = new Map<string, Hash>();
  await changed(state.meta, meta, metaDrop, metaAdd);

  // Exact liveness on either side.
  const dataNow = async (id: string, h: Hash): Promise<number> => (await dataBefore(id, h)) + (delta.get(id)?.n ?? 0);
  const aliveNow = async (id: string, h: Hash): Promise<boolean> => {
    if (id === EMPTY_ID) return true;
    if (now.kept.has(id) || (await dataNow(id, h)) > 0) return true;
    if (addedNodes.has(id)) return true;
    const x = await loadNode(tree, h);
    return x !== undefined && ((await nodeIn(inNow, rootsNow, x)) || (await treeHasNode(tree, meta, x)));
  };
  const aliveBefore = async (id: string, h: Hash): Promise<boolean> => {
    if (id === EMPTY_ID) return true;
    if (before.kept.has(id) || (await dataBefore(id, h)) > 0) return true;
    if (droppedNodes.has(id)) return true;
    const x = await loadNode(tree, h);
    return x !== undefined && ((await nodeIn(inBefore, rootsBefore, x)) || (await treeHasNode(tree, state.meta, x)));
  };

  // What left the live set (all of it was live before), and what entered it.
  const leaving = new Map<string, Hash>(droppedNodes);
  for (const [id, d] of delta) if (d.n < 0) leaving.set(id, d.hash);
  for (const [id, k] of before.kept) if (!now.kept.has(id)) leaving.set(id, k.hash);
  for (const [id, h] of metaDrop) leaving.set(id, h);
  const entering = new Map<string, Hash>(addedNodes);
  for (const [id, d] of delta) if (d.n > 0) entering.set(id, d.hash);
  for (const [id, k] of now.kept) if (!before.kept.has(id)) entering.set(id, k.hash);
  for (const [id, h] of metaAdd) entering.set(id, h);

  // The live count leaves out the state blob itself (the report adds it).
  let liveCount = state.liveCount;
  const doomed = new Map<string, Hash>();
  for (const [id, h] of leaving) {
    signal?.throwIfAborted();
    if (await aliveNow(id, h)) continue;
    liveCount--;
    doomed.set(id, h);
  }
  for (const [id, h] of entering) {
    signal?.throwIfAborted();
    if (!(await aliveBefore(id, h))) liveCount++;
  }
  // The old state blob (the caller spares it if the new state is the same blob).
  const stateId = bytesToHex(state.hash);
  if (!(await aliveNow(stateId, state.hash))) doomed.set(stateId, state.hash);
  // Blobs written since the last collection: deleted unless live.
  for (const h of journal) {
    signal?.throwIfAborted();
    const id = bytesToHex(h);
    if (doomed.has(id)) continue;
    if (!(await aliveNow(id, h))) doomed.set(id, h);
  }
  const candidates = new Set([...leaving.keys(), ...journal.map((h) => bytesToHex(h))]).size + 1;
  const sizes = new Map<string, number>();
  for (const [id, hash] of doomed) {
    const n = tree.nodes.cachedHash(hash);
    if (n !== undefined && id !== EMPTY_ID) sizes.set(id, n.bytes.length);
  }
  return { mode: 'incremental', doomed, candidates, liveCount, meta, sizes };
}
