export { Repo, checkName, BRANCH_PREFIX, TAG_PREFIX, type RepoOptions, type ResolvedRef, type LogEntry } from './repo.js';
export { RepoError, ConflictError, type RepoErrorCode } from './errors.js';
export { LevelNameStore, type NameStore } from './names.js';
export { encodeCommit, decodeCommit, tryDecodeCommit, type Commit } from './commit.js';
