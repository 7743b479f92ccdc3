// Short ids: any unique prefix of 4+ hex digits of a commit or root in some name's history.
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@cafs/kv';
import { Repo } from '../src/repo.js';

describe('short ids', () => {
  it('resolve unique prefixes and list the candidates of an ambiguous one', async () => {
    const repo = new Repo();
    await repo.init();
    const ids: string[] = [];
    let root = (await repo.resolve('main')).root;
    // Enough commits that two of their ids (or roots) share 4 hex digits.
    for (let i = 0; i < 600; i++) {
      root = await repo.fs.writeFile(root, '/f', String(i));
      ids.push(bytesToHex(await repo.commit('main', root, `c${i}`)), bytesToHex(root));
    }
    const unique = ids[122]!;
    expect(bytesToHex((await repo.resolve(unique.slice(0, 12))).root)).toBe(ids[123]);
    const byPrefix = new Map<string, number>();
    for (const id of ids) byPrefix.set(id.slice(0, 4), (byPrefix.get(id.slice(0, 4)) ?? 0) + 1);
    const shared = [...byPrefix].find(([, n]) => n > 1)![0];
    const err = await repo.resolve(shared).catch((e: unknown) => e as { code: string; message: string });
    expect(err).toMatchObject({ code: 'EINVAL' });
    expect((err as { message: string }).message).toMatch(/ambiguous/);
    for (const id of ids.filter((x) => x.startsWith(shared))) expect((err as { message: string }).message).toContain(id);
    await expect(repo.resolve('abc')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_REF' });
  });
});
