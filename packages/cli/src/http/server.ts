// serve(): createHandler on node:http with the limits a public server needs, and a shutdown
// that ends within a deadline.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Repo } from '@cafs/repo';
import { createHandler, type HandlerOptions } from './handler.js';
import { collectEvery } from './respond.js';

export interface ServeOptions extends Omit<HandlerOptions, 'signal'> {
  port?: number;
  host?: string;
  /** Connections beyond this many are refused at once (default 1024). */
  maxConnections?: number;
  /** A client must send its request headers within this time (default 10 s)... */
  headersTimeoutMs?: number;
  /** ...and its whole request within this time (default 30 s). */
  requestTimeoutMs?: number;
  /** A connection on which nothing moves either way this long is cut (default 30 s): slow readers. */
  idleTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long (default 5 s). */
  keepAliveTimeoutMs?: number;
  /**
   * Force a young-generation collection after this many bytes of data sent (default 8 MiB; 0:
   * leave it to V8). Dead copies of store chunks are otherwise collected late: 25-40 MB of them
   * stayed resident under load.
   */
  gcEveryBytes?: number;
}

export interface CafsServer {
  readonly server: Server;
  readonly port: number;
  /**
   * Stops accepting connections, lets responses in flight finish for up to `deadlineMs`
   * (default 2 s), then cuts the rest. Resolves when every connection is closed.
   */
  shutdown(deadlineMs?: number): Promise<void>;
}

/** Listens with createHandler; resolves once listening. */
export async function serve(repo: Repo, options: ServeOptions = {}): Promise<CafsServer> {
  const stopping = new AbortController();
  collectEvery(options.gcEveryBytes ?? 8 * 1024 * 1024);
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const handler = createHandler(repo, { ...options, signal: stopping.signal });
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? 30_000, headersTimeout),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // How often the header and request deadlines are checked (Node's default is 30 s).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    (req, res) => {
      if (stopping.signal.aborted) res.setHeader('Connection', 'close');
      handler(req, res);
    },
  );
  server.maxConnections = options.maxConnections ?? 1024;
  server.timeout = options.idleTimeoutMs ?? 30_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Malformed or too slow requests: a short answer and the connection closed.
  server.on('clientError', (err, socket) => {
    const status = (err as { code?: string }).code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  const shutdown = (deadlineMs = 2_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        stopping.abort();
        for (const s of sockets) s.destroy();
      }, deadlineMs);
      cut.unref();
      server.once('close', () => clearTimeout(cut));
    });
    return closing;
  };
  return { server, port: (server.address() as { port: number }).port, shutdown };
}
