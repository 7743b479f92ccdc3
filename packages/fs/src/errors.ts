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
  | 'ENOSYS'
  | 'EPERM'
  | 'EMLINK';

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
  EPERM: 'operation not permitted',
  EMLINK: 'too many links',
};

/**
 * A filesystem error shaped like Node's: `code`, `syscall`, `path`, and the same message form.
 * Like Node's asynchronous fs errors it carries no JavaScript stack: capturing one costs more
 * than the failed lookup itself, and ENOENT is an everyday answer (exists checks, stat probes).
 * For the same reason the message is put together only when read (it is a getter; assigning
 * to it works as for any error).
 */
export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly syscall: string;
  readonly path: string | undefined;
  readonly dest: string | undefined;
  readonly #detail: string | undefined;

  constructor(code: FsErrorCode, syscall: string, path?: string, detail?: string, dest?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super();
    Error.stackTraceLimit = limit;
    this.code = code;
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
    this.#detail = detail;
  }

  override get message(): string {
    const where = this.path === undefined ? '' : ` '${this.path}'` + (this.dest === undefined ? '' : ` -> '${this.dest}'`);
    return `${this.code}: ${this.#detail ?? MESSAGES[this.code]}, ${this.syscall}${where}`;
  }

  override set message(value: string) {
    Object.defineProperty(this, 'message', { value, writable: true, configurable: true, enumerable: false });
  }
}

Object.defineProperty(FsError.prototype, 'name', { value: 'FsError', writable: true, configurable: true, enumerable: false });
