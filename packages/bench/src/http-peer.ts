// The http suite's data set and its peer server: node:http + fs.createReadStream serving the
// same files from tmpfs, with single ranges and an HTML directory listing (readdir + stat of
// each entry, as serve-index does, so its listing carries the sizes cafs's does).
import { randomBytes } from 'node:crypto';
import * as nfs from 'node:fs/promises';
import path from 'node:path';

export const SMALL_FILES = 200;
export const SMALL_MIN = 1024;
export const SMALL_MAX = 16 * 1024;
export const LARGE_FILES = 2;
export const LARGE_SIZE = 64 * 2 ** 20;
export const LIST_ENTRIES = 1000;

export interface DataSet {
  /** The directory imported into cafs and served by the peer. */
  dir: string;
  /** Paths relative to `dir`, with `/` separators and no leading slash. */
  small: string[];
  smallBytes: number;
  large: string[];
  /** The listed directory, relative, ending in `/`. */
  list: string;
}

/** Writes the data set under `dir`: small/ (200 files of 1-16 KiB), large/ (2 x 64 MiB), list/ (1000 entries). */
export async function makeDataSet(dir: string): Promise<DataSet> {
  for (const d of ['small', 'large', 'list']) await nfs.mkdir(path.join(dir, d), { recursive: true });
  const small: string[] = [];
  let smallBytes = 0;
  for (let i = 0; i < SMALL_FILES; i++) {
    const size = SMALL_MIN + Math.floor(Math.random() * (SMALL_MAX - SMALL_MIN + 1));
    const rel = `small/s${String(i).padStart(3, '0')}.bin`;
    await nfs.writeFile(path.join(dir, rel), randomBytes(size));
    small.push(rel);
    smallBytes += size;
  }
  const large: string[] = [];
  for (let i = 0; i < LARGE_FILES; i++) {
    const rel = `large/l${i}.bin`;
    const fh = await nfs.open(path.join(dir, rel), 'w');
    try {
      for (let off = 0; off < LARGE_SIZE; off += 2 ** 20) await fh.write(randomBytes(2 ** 20));
    } finally {
      await fh.close();
    }
    large.push(rel);
  }
  for (let i = 0; i < LIST_ENTRIES; i++) {
    const name = `entry-${String(i).padStart(4, '0')}.txt`;
    await nfs.writeFile(path.join(dir, 'list', name), `listing entry ${i}\n`);
  }
  return { dir, small, smallBytes, large, list: 'list/' };
}

/** The peer: run as `node peer.mjs DIR`; prints `serving on http://127.0.0.1:PORT/`. */
export const PEER_HTTP_SERVER = `
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
const root = path.resolve(process.argv[2]);
const esc = (s) => s.replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const fail = (res, code, msg) => { res.writeHead(code, { 'content-type': 'text/plain' }); res.end(msg + '\\n'); };
const listing = async (res, dir, urlPath) => {
  const ents = await fs.promises.readdir(dir, { withFileTypes: true });
  ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows = await Promise.all(ents.map(async (e) => {
    const d = e.isDirectory();
    const size = e.isFile() ? ' <small>' + (await fs.promises.stat(path.join(dir, e.name))).size + ' bytes</small>' : '';
    return '<li><a href="' + esc(encodeURIComponent(e.name)) + (d ? '/' : '') + '">' + esc(e.name) + (d ? '/' : '') + '</a>' + size + '</li>\\n';
  }));
  const t = esc(urlPath);
  const html = '<!doctype html>\\n<html><head><meta charset="utf-8"><title>' + t + '</title></head><body><h1>' + t + '</h1><ul>\\n' +
    '<li><a href="../">../</a></li>\\n' + rows.join('') + '</ul></body></html>\\n';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
  res.end(html);
};
const server = http.createServer((req, res) => {
  let urlPath;
  try { urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname); } catch { return fail(res, 400, 'bad path'); }
  const file = path.join(root, urlPath);
  if (file !== root && !file.startsWith(root + path.sep)) return fail(res, 400, 'bad path');
  fs.stat(file, (err, st) => {
    if (err) return fail(res, 404, 'not found');
    if (st.isDirectory()) {
      listing(res, file, urlPath).catch((e) => { if (!res.headersSent) fail(res, 500, String(e)); else res.destroy(); });
      return;
    }
    if (!st.isFile()) return fail(res, 404, 'not found');
    const type = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\\d*)-(\\d*)$/.exec(range);
      let start = -1, end = -1;
      if (m && m[1] !== '') { start = +m[1]; end = m[2] === '' ? st.size - 1 : Math.min(+m[2], st.size - 1); }
      else if (m && m[2] !== '') { start = Math.max(0, st.size - +m[2]); end = st.size - 1; }
      if (start < 0 || start > end || start >= st.size) {
        res.writeHead(416, { 'content-range': 'bytes */' + st.size }); res.end(); return;
      }
      res.writeHead(206, { ...type, 'content-length': end - start + 1, 'content-range': 'bytes ' + start + '-' + end + '/' + st.size });
      fs.createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
      return;
    }
    res.writeHead(200, { ...type, 'content-length': st.size });
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
});
server.listen(0, '127.0.0.1', () => console.log('serving on http://127.0.0.1:' + server.address().port + '/'));
process.on('SIGTERM', () => process.exit(0));
`;
