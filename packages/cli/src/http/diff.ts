// GET /diff/<a>..<b>: the changes between two refs as JSON, a page at a time (`?after=PATH&limit=N`).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bytesToHex } from '@cafs/kv';
import type { Repo } from '@cafs/repo';
import { HttpError } from './errors.js';
import { etagMatches } from './file.js';
import { nextLink, pageParams } from './listing.js';
import { notModified, TextSink } from './respond.js';

export async function serveDiff(req: IncomingMessage, res: ServerResponse, repo: Repo, spec: string, urlPath: string, query: URLSearchParams): Promise<void> {
  const m = /^(.+?)\.\.(.+)$/.exec(spec);
  if (!m) throw new HttpError(400, 'use /diff/<a>..<b>');
  const { limit, after } = pageParams(query);
  if (after !== undefined && !after.startsWith('/')) throw new HttpError(400, 'after is a path (the previous page\'s next)');
  // The reflog names old and deleted heads: not something a server shows.
  if (m[1]!.includes('@{') || m[2]!.includes('@{')) throw new HttpError(400, 'reflog refs (name@{N}) are not served');
  const a = await repo.resolve(m[1]!);
  const b = await repo.resolve(m[2]!);
  const etag = `"${createHash('sha256')
    .update([bytesToHex(a.root), bytesToHex(b.root), String(limit), after ?? ''].join('\0'))
    .digest('hex')
    .slice(0, 40)}"`;
  if (etagMatches(req.headers['if-none-match'], etag)) return notModified(res, { ETag: etag });
  const page = await repo.fs.diffPage(a.root, b.root, { renames: true, after, limit });
  const headers: Record<string, string> = { ETag: etag };
  if (page.next !== undefined) headers['Link'] = `<${nextLink(urlPath, query, page.next)}>; rel="next"`;
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const sink = new TextSink(res);
  await sink.push(`{"a":"${bytesToHex(a.root)}","b":"${bytesToHex(b.root)}","changes":[`);
  for (const [i, c] of page.changes.entries()) {
    const record = { op: c.op, path: c.path, from: c.from, type: (c.right ?? c.left)!.type, size: c.right ? Number(c.right.size) : undefined };
    if (!(await sink.push((i === 0 ? '' : ',') + JSON.stringify(record)))) return;
  }
  await sink.push(`]${page.next === undefined ? '' : `,"next":${JSON.stringify(page.next)}`}}`);
  if (await sink.flush()) res.end();
}
