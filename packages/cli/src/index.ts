export { main } from './main.js';
export { importDirectory, type ImportOptions, type ImportResult } from './import.js';
export { exportPlain, exportAtomic, DATA_LINK, type ExportResult, type AtomicResult } from './export.js';
export { fsck, type FsckReport } from '@cafs/repo';
export { createHandler, serve, type HandlerOptions } from './http/index.js';
export { findRepo, openRepo, REPO_DIR } from './repo-open.js';
export { CliError, describeError } from './errors.js';
