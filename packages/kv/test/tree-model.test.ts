import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../src/bytes.js';
import { EMPTY_ROOT } from '../src/tree/tree.js';
import type { Edit } from '../src/tree/entry.js';
import { ModelMap, allEntries, collect, newTree, plain } from './helpers.js';

// Short keys over a small alphabet so that operations collide with existing keys often.
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 6, max: 7 });
const valueArb = fc.uint8Array({ minLength: 0, maxLength: 40 });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant('del' as const), key: keyArb }),
);
const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('range' as const), lo: fc.option(keyArb, { nil: undefined }), hi: fc.option(keyArb, { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mutate' as const), edits: fc.array(editArb, { maxLength: 60 }) }) },
);

describe('tree against a sorted-map model', () => {
  it('every operation sequence reads back like the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.array(keyArb, { maxLength: 10 }), async (ops, probes) => {
        const tree = newTree();
        const model = new ModelMap();
        let root = EMPTY_ROOT;
        for (const op of ops) {
          if (op.op === 'put') {
            root = await tree.put(root, op.key, op.value);
            model.put(op.key, op.value);
          } else if (op.op === 'del') {
            root = await tree.delete(root, op.key);
            model.delete(op.key);
          } else if (op.op === 'range') {
            root = await tree.deleteRange(root, { gte: op.lo, lt: op.hi });
            model.deleteRange(op.lo, op.hi);
          } else {
            root = await tree.mutate(root, op.edits);
            for (const e of op.edits) (e.type === 'put' ? model.put(e.key, e.value) : model.delete(e.key));
          }
        }
        const expected = model.sorted();
        expect(plain(await allEntries(tree, root))).toEqual(plain(expected));
        expect(plain((await collect(tree.entries(root, { reverse: true }))).reverse())).toEqual(plain(expected));
        for (const p of probes) {
          const v = await tree.get(root, p);
          expect(v === undefined ? undefined : Buffer.from(v).toString('hex')).toEqual(
            model.get(p) === undefined ? undefined : Buffer.from(model.get(p)!).toString('hex'),
          );
        }
        // The same entries bulk-loaded give the same root.
        expect(Buffer.from(await tree.build(expected)).toString('hex')).toBe(Buffer.from(root).toString('hex'));
      }),
      { numRuns: 150 },
    );
  });

  it('range iteration with bounds, reverse and limit matches the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(keyArb, { maxLength: 300, selector: (k) => Buffer.from(k).toString('hex') }),
        fc.record({
          lower: fc.option(fc.tuple(fc.boolean(), keyArb), { nil: undefined }),
          upper: fc.option(fc.tuple(fc.boolean(), keyArb), { nil: undefined }),
          reverse: fc.boolean(),
          limit: fc.option(fc.nat(20), { nil: undefined }),
        }),
        async (keys, q) => {
          const tree = newTree();
          const sorted = [...keys].sort(compareBytes).map((key) => ({ key, value: key }));
          const root = await tree.build(sorted);
          const opts = {
            ...(q.lower ? (q.lower[0] ? { gt: q.lower[1] } : { gte: q.lower[1] }) : {}),
            ...(q.upper ? (q.upper[0] ? { lt: q.upper[1] } : { lte: q.upper[1] }) : {}),
            reverse: q.reverse,
            limit: q.limit,
          };
          let want = sorted.filter(
            (e) =>
              (!q.lower || (q.lower[0] ? compareBytes(e.key, q.lower[1]) > 0 : compareBytes(e.key, q.lower[1]) >= 0)) &&
              (!q.upper || (q.upper[0] ? compareBytes(e.key, q.upper[1]) < 0 : compareBytes(e.key, q.upper[1]) <= 0)),
          );
          if (q.reverse) want = want.reverse();
          if (q.limit !== undefined) want = want.slice(0, q.limit);
          expect(plain(await collect(tree.entries(root, opts)))).toEqual(plain(want));
        },
      ),
      { numRuns: 200 },
    );
  });
});
