// One ioredis client (Cluster or standalone) shared by the stores of a repository.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { StoreUnavailableError, toStoreError } from './errors.js';
import { parseRedisUrl, redactUrl } from './url.js';

export type RedisClient = Cluster | Redis;

export interface RedisConnectOptions {
  /** Overrides the URL's credentials. */
  username?: string | undefined;
  password?: string | undefined;
  /** TLS options (CA, client certificate, ...) for rediss:// URLs. */
  tls?: TlsOptions | undefined;
  /** How long connecting may take before ERR_STORE_UNAVAILABLE (default 5000 ms). */
  connectTimeout?: number | undefined;
  /** How long one operation may take before ERR_STORE_UNAVAILABLE (default the URL's ?timeout= or 10000 ms). */
  timeout?: number | undefined;
  /** Extra ioredis options (advanced). */
  clusterOptions?: Partial<ClusterOptions> | undefined;
}

/**
 * A connected client plus a reference count: every store made from it calls `release` when
 * closed, and the last one disconnects.
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly timeout: number;
  readonly prefix: string | undefined;
  private refs = 0;

  private constructor(client: RedisClient, timeout: number, prefix: string | undefined) {
    this.client = client;
    this.timeout = timeout;
    this.prefix = prefix;
  }

  /**
   * Connects to `redis://[user:password@]host:port[,host:port...]` (`rediss://` for TLS). Fails
   * with ERR_STORE_UNAVAILABLE within `connectTimeout` when the cluster cannot be reached.
   */
  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisConnection> {
    const parsed = parseRedisUrl(url);
    const connectTimeout = options.connectTimeout ?? 5000;
    const timeout = options.timeout ?? parsed.timeout ?? 10_000;
    const tls = parsed.tls ? { ...(options.tls ?? {}) } : undefined;
    const redisOptions: RedisOptions = {
      username: options.username ?? parsed.username,
      password: options.password ?? parsed.password,
      connectTimeout,
      commandTimeout: timeout,
      // A command on a lost connection fails instead of waiting for a reconnect.
      maxRetriesPerRequest: 1,
      ...(tls !== undefined ? { tls } : {}),
    };
    let client: RedisClient;
    if (parsed.cluster) {
      client = new Cluster(parsed.nodes, {
        lazyConnect: true,
        redisOptions,
        // Commands issued while the cluster is (re)connecting fail at once (typed), they do not queue.
        enableOfflineQueue: false,
        enableReadyCheck: true,
        slotsRefreshTimeout: Math.min(connectTimeout, 2000),
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        retryDelayOnFailover: 100,
        maxRedirections: 8,
        // Keep reconnecting (capped backoff) for as long as the store is open.
        clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
        ...(tls !== undefined ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
        ...options.clusterOptions,
      });
    } else {
      client = new Redis({
        ...redisOptions,
        host: parsed.nodes[0]!.host,
        port: parsed.nodes[0]!.port,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: (times) => Math.min(100 * times, 2000),
      });
    }
    // ioredis reports connection trouble as 'error' events; the operations report it typed.
    client.on('error', () => {});
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${connectTimeout} ms`)), connectTimeout);
        }),
      ]);
      if (client instanceof Cluster) await waitClusterReady(client, connectTimeout);
    } catch (err) {
      client.disconnect();
      const cause = toStoreError('connect', err);
      throw new StoreUnavailableError('connect', `cannot connect to ${redactUrl(url)}: ${(err as Error)?.message ?? err}`, { cause });
    } finally {
      clearTimeout(timer);
    }
    return new RedisConnection(client, timeout, parsed.prefix);
  }

  /** Wraps an already connected ioredis client (closing the stores will not disconnect it). */
  static fromClient(client: RedisClient, options: { timeout?: number; prefix?: string } = {}): RedisConnection {
    const c = new RedisConnection(client, options.timeout ?? 10_000, options.prefix);
    c.refs = Number.POSITIVE_INFINITY;
    return c;
  }

  acquire(): this {
    this.refs++;
    return this;
  }

  async release(): Promise<void> {
    if (--this.refs > 0) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

async function waitClusterReady(client: Cluster, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (client.status === 'ready') return;
    if (Date.now() > deadline) throw new Error(`cluster not ready within ${ms} ms (status ${client.status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs `fn` with a deadline and the caller's abort signal: a slow or lost cluster gives
 * ERR_STORE_UNAVAILABLE (reason 'timeout'), never a hang.
 */
export async function withDeadline<T>(op: string, ms: number, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreUnavailableError('timeout', `redis ${op} timed out after ${ms} ms`)), ms);
        if (signal !== undefined) {
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }
      }),
    ]);
  } catch (err) {
    throw toStoreError(op, err);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
  }
}
