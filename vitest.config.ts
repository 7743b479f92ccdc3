import { execSync } from 'node:child_process';
import { configDefaults, defineConfig } from 'vitest/config';

const installed = (cmd: string): boolean => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

// The Redis Cluster tests start real redis-server processes. On a machine without them (a
// developer's laptop with only Node and npm) they are left out with a warning; CI installs
// redis-server (.ci/run) and never leaves them out, so a missing install there fails loudly.
const exclude = [...configDefaults.exclude];
if (!process.env['CI'] && !(installed('redis-server') && installed('redis-cli'))) {
  console.warn('redis-server is not installed: the Redis Cluster tests are skipped (apt-get install redis-server to run them)');
  exclude.push('packages/store-redis/test/{blob-store,cache,cli-codecs,cli-store,codecs,faults,names,repo-gc,sync}.test.ts');
}

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
