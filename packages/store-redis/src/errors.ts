import { KvError } from '@cafs/kv';

/** Why a Redis operation failed. */
export type StoreUnavailableReason = 'connect' | 'timeout' | 'connection' | 'cluster-down' | 'server' | 'closed';

/**
 * The remote store could not answer: unreachable, timed out, the cluster is down (a master is
 * missing), or the server refused the command. The outcome of a write that failed this way is
 * unknown (it may or may not have been applied): retry it, every cafs write is idempotent or CAS.
 */
export class StoreUnavailableError extends KvError {
  readonly reason: StoreUnavailableReason;
  constructor(reason: StoreUnavailableReason, message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
    this.reason = reason;
  }
}

/** Classifies an ioredis error into a StoreUnavailableError (KvErrors pass through). */
export function toStoreError(op: string, err: unknown): Error {
  if (err instanceof KvError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const message = err instanceof Error ? err.message : String(err);
  let reason: StoreUnavailableReason = 'server';
  if (/CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING/.test(message)) reason = 'cluster-down';
  else if (/ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|isn't ready|not ready|Failed to refresh slots|None of startup nodes|Too many Cluster redirections|MaxRetriesPerRequest|socket/i.test(message)) reason = 'connection';
  else if (/timed? ?out/i.test(message)) reason = 'timeout';
  return new StoreUnavailableError(reason, `redis ${op} failed (${reason}): ${message}`, { cause: err });
}
