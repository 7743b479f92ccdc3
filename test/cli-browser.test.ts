// End-to-end in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) on `cafs serve` — a directory listing, its links, and a PNG image.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const BIN = resolve(__dirname, '../packages/cli/dist/main.js');
const run = promisify(execFile);

if (!HAVE_CHROMIUM) {
  console.warn(`test/cli-browser.test.ts: skipped, ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`);
}

// --- a valid PNG, built here: W x H, 8-bit RGB, one solid colour ----------------------------
const W = 40;
const H = 30;
const COLOUR = [0x33, 0x99, 0xcc] as const;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function solidPng(width: number, height: number, [r, g, b]: readonly [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function ok(cwd: string, ...args: string[]): Promise<string> {
  try {
    return (await run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    throw new Error(`cafs ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
}

describe.skipIf(!HAVE_CHROMIUM)(`cafs serve in headless Chromium (${CHROMIUM})`, () => {
  let work: string;
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let base: string;
  const png = solidPng(W, H, COLOUR);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cafs-browser-'));
    const repoDir = join(work, 'repo');
    const tree = join(repoDir, 'tree');
    mkdirSync(join(tree, 'docs'), { recursive: true });
    writeFileSync(join(tree, 'pic.png'), png);
    writeFileSync(join(tree, 'notes.txt'), 'plain notes\n');
    writeFileSync(join(tree, 'a b.txt'), 'a name with a space\n');
    writeFileSync(join(tree, 'docs', 'readme.md'), '# docs\n');
    await ok(repoDir, 'init');
    await ok(repoDir, 'import', 'tree', '-m', 'browser fixture');

    const srv = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    server = srv;
    let stderr = '';
    srv.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    base = await new Promise<string>((res, rej) => {
      let buf = '';
      srv.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(buf);
        if (m) res(m[1]!.replace(/\/$/, ''));
      });
      srv.once('exit', (c) => rej(new Error(`cafs serve exited ${c}: ${stderr}`)));
    });

    // A fresh profile; launchPersistentContext is how Playwright takes --user-data-dir.
    const profile = join(work, 'profile');
    mkdirSync(profile);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 800, height: 600 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(30_000);
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close().catch(() => {});
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the directory listing with links to the files, and a screenshot of it', async () => {
    const resp = await page.goto(`${base}/b/main/`);
    expect(resp?.status()).toBe(200);
    expect(resp?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.title()).toBe('/b/main/');
    expect(await page.locator('h1').textContent()).toBe('/b/main/');

    const links = await page.$$eval('ul a', (as) => as.map((a) => ({ text: a.textContent, href: (a as HTMLAnchorElement).href })));
    const byText = new Map(links.map((l) => [l.text, l.href]));
    expect([...byText.keys()].sort()).toEqual(['a b.txt', 'docs/', 'notes.txt', 'pic.png']);
    expect(byText.get('pic.png')).toBe(`${base}/b/main/pic.png`);
    expect(byText.get('notes.txt')).toBe(`${base}/b/main/notes.txt`);
    expect(byText.get('a b.txt')).toBe(`${base}/b/main/a%20b.txt`);
    expect(byText.get('docs/')).toBe(`${base}/b/main/docs/`);
    // The root listing has no parent link; sizes are shown for files.
    expect(links.some((l) => l.text === '../')).toBe(false);
    expect(await page.locator('li', { hasText: 'pic.png' }).textContent()).toContain(`${png.length} bytes`);

    const shot = join(work, 'listing.png');
    await page.screenshot({ path: shot, fullPage: true });
    const bytes = readFileSync(shot);
    expect(bytes.length).toBeGreaterThan(100);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(0); // IHDR width
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(0); // IHDR height
  });

  it('loads the image from the listing page: 40x30, the right colour', async () => {
    await page.goto(`${base}/b/main/`);
    // An <img> on the listing page, with the listing's own (relative) link as its src.
    const img = await page.evaluate(async () => {
      const href = document.querySelector<HTMLAnchorElement>('a[href="pic.png"]')!.getAttribute('href')!;
      const el = document.createElement('img');
      el.src = href;
      document.body.appendChild(el);
      await el.decode();
      const canvas = document.createElement('canvas');
      canvas.width = el.naturalWidth;
      canvas.height = el.naturalHeight;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(el, 0, 0);
      const px = Array.from(ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data);
      return { src: el.src, width: el.naturalWidth, height: el.naturalHeight, px };
    });
    expect(img.src).toBe(`${base}/b/main/pic.png`);
    expect(img.width).toBe(W);
    expect(img.height).toBe(H);
    expect(img.px).toEqual([...COLOUR, 255]);
  });

  it('follows the image link to the image itself, served as image/png', async () => {
    await page.goto(`${base}/b/main/`);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/b/main/pic.png`),
      page.getByRole('link', { name: 'pic.png' }).click(),
    ]);
    expect(resp.status()).toBe(200);
    expect(resp.headers()['content-type']).toBe('image/png');
    expect((await resp.body()).equals(png)).toBe(true);
    await page.waitForURL(`${base}/b/main/pic.png`);
    // Chromium shows an image document: one <img>, decoded.
    await page.waitForFunction(() => document.images.length === 1 && document.images[0]!.complete && document.images[0]!.naturalWidth > 0);
    const shown = await page.evaluate(() => ({ type: document.contentType, width: document.images[0]!.naturalWidth, height: document.images[0]!.naturalHeight }));
    expect(shown).toEqual({ type: 'image/png', width: W, height: H });
  });

  it('navigates into a subdirectory and back, and opens a text file', async () => {
    await page.goto(`${base}/b/main/`);
    await page.getByRole('link', { name: 'docs/' }).click();
    await page.waitForURL(`${base}/b/main/docs/`);
    expect(await page.title()).toBe('/b/main/docs');
    const names = await page.$$eval('ul a', (as) => as.map((a) => a.textContent));
    expect(names).toEqual(['../', 'readme.md']);
    await page.getByRole('link', { name: '../' }).click();
    await page.waitForURL(`${base}/b/main/`);
    expect(await page.title()).toBe('/b/main/');

    // Without the trailing slash the server redirects, and relative links still resolve.
    await page.goto(`${base}/b/main/docs`);
    expect(page.url()).toBe(`${base}/b/main/docs/`);

    const txt = await page.goto(`${base}/b/main/a%20b.txt`);
    expect(txt?.headers()['content-type']).toMatch(/^text\/plain/);
    expect(await page.evaluate(() => document.body.textContent)).toBe('a name with a space\n');
  });
});
