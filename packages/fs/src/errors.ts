/** Node-style error codes the filesystem raises. */
export type FsErrorCode =
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EINVAL'
  | 'ENAMETOOLONG'
  | 'ELOOP'
  | 'ENODATA'
  | 'E2BIG'
  | 'EFBIG'
  | 'EBUSY'
  | 'EBADF'
  | 'EROFS'
  | 'ENOSYS';

const MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links encountered',
  ENODATA: 'no data available',
  E2BIG: 'argument list too long',
  EFBIG: 'file too large',
  EBUSY: 'resource busy or locked',
  EBADF: 'bad file descriptor',
  EROFS: 'read-only file system',
  ENOSYS: 'function not implemented',
};

/**
 * A filesystem error shaped like Node's: `code`, `syscall`, `path`, and the same message form.
 * Like Node's asynchronous fs errors it carries no JavaScript stack: capturing one costs more
 * than the failed lookup itself, and ENOENT is an everyday answer (exists checks, stat probes).
 */
export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;

  constructor(code: FsErrorCode, syscall: string, path?: string, detail?: string, dest?: string) {
    const where = path === undefined ? '' : ` '${path}'` + (dest === undefined ? '' : ` -> '${dest}'`);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${code}: ${detail ?? MESSAGES[code]}, ${syscall}${where}`);
    Error.stackTraceLimit = limit;
    this.name = 'FsError';
    this.code = code;
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
  }
}
