// The names table's namespaces: what each prefix of a name means.
export const BRANCH_PREFIX = 'refs/heads/';
export const TAG_PREFIX = 'refs/tags/';
export const REMOTE_PREFIX = 'refs/remotes/';
/** Roots or commits kept through garbage collection (`pin`). */
export const PIN_PREFIX = 'refs/pins/';
/** The collector's own state. */
export const GC_PREFIX = 'refs/gc/';
/** The name of the collector's state blob. */
export const GC_STATE_NAME = 'refs/gc/state';
/** Parent links cut by garbage collection (history-cuts.ts): not roots, they name what was dropped. */
export const CUT_PREFIX = 'refs/shallow/';
/** Moves of branches (reflog.ts): each keeps its commit through gc until it expires. */
export const REFLOG_PREFIX = 'refs/logs/';
