// User-facing errors: one line on stderr, no stack, a non-zero exit status.

/** An error meant for the user: printed as its message alone. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const KNOWN: Record<string, string> = {
  ERR_UNKNOWN_REF: 'unknown ref',
  ERR_NOT_A_COMMIT: 'not a commit',
  ERR_CONFLICT: 'the branch moved meanwhile (retry)',
  EEXIST: 'already exists',
  EINVAL: 'invalid argument',
  EROFS: 'read-only',
  EBUSY: 'in use',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  E2BIG: 'too large',
  EFBIG: 'file too large',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ERR_BLOB_NOT_FOUND: 'the store is missing a blob (run `cafs fsck`)',
  ERR_INTEGRITY: 'the store holds a corrupt blob (run `cafs fsck`)',
  ERR_CORRUPT_NODE: 'the store holds a corrupt tree node (run `cafs fsck`)',
  ERR_ROOT_NOT_FOUND: 'no such root in the store',
  LEVEL_DATABASE_NOT_OPEN: 'cannot open the repository (is another cafs process using it?)',
  LEVEL_LOCKED: 'the repository is locked by another process',
  ERR_REMOTE: 'the remote could not be reached',
  ERR_UNAUTHORIZED: 'the remote wants a token (set CAFS_TOKEN)',
  ERR_FORBIDDEN: 'the remote refused',
  ERR_NON_FAST_FORWARD: 'not a fast-forward (pull first, or --force)',
  ERR_INCOMPLETE: 'the source lacks blobs',
  ERR_PROTOCOL: 'the remote spoke the protocol wrongly',
};

/** The one line to print for an error, and whether it is a user error (no stack wanted). */
export function describeError(err: unknown): { line: string; user: boolean; exitCode: number } {
  if (err instanceof CliError) return { line: err.message, user: true, exitCode: err.exitCode };
  const e = err as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === 'LEVEL_DATABASE_NOT_OPEN') {
    const cause = e.cause as { code?: string; message?: string } | undefined;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(cause?.message))) {
      return { line: 'the repository is in use by another cafs process (LevelDB lock)', user: true, exitCode: 1 };
    }
  }
  if (code !== undefined && code in KNOWN) {
    const msg = typeof e.message === 'string' && e.message ? e.message.split('\n')[0]! : KNOWN[code]!;
    return { line: msg, user: true, exitCode: 1 };
  }
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return { line: msg, user: false, exitCode: 2 };
}
