// Process-wide safety nets: unmount on SIGINT/SIGTERM, detach on exit, so no mount is left hung.
import { spawnSync } from 'node:child_process';

/** What the process-wide handlers need of a live mount. */
export interface LiveMount {
  readonly mountpoint: string;
  unmount(): Promise<void>;
}

export const live = new Set<LiveMount>();
let signalsInstalled = false;

let exitHookInstalled = false;

/** If the process exits with mounts still up (an uncaught error), detach them: no hung mounts. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const m of live) spawnSync('fusermount', ['-uz', m.mountpoint], { stdio: 'ignore' });
  });
}

export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const handler = (): void => {
      void Promise.allSettled([...live].map((m) => m.unmount())).then(() => {
        process.removeListener(sig, handler);
        signalsInstalled = false;
        // Die of the same signal, as if no handler had been there.
        process.kill(process.pid, sig);
      });
    };
    process.on(sig, handler);
  }
}

