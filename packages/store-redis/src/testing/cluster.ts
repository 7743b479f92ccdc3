// Test helper: a throwaway Redis Cluster of N masters on loopback ports, Debian's redis-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestClusterOptions {
  /** Masters (default 3). */
  masters?: number;
  /** Append-only file, so a stopped master comes back with its data (default false). */
  persist?: boolean;
  /** cluster-node-timeout in ms (default 2000). */
  nodeTimeout?: number;
  /** Redis ACL password for the default user (default none). */
  password?: string;
  /** TLS only (a throwaway self-signed certificate for 127.0.0.1; needs openssl): rediss:// URL. */
  tls?: boolean;
}

export interface TestClusterNode {
  port: number;
  dir: string;
  /** The watchdog shell that runs redis-server (it kills redis-server when its stdin closes). */
  process: ChildProcess | undefined;
  /** redis-server's own pid while it runs (for signals such as SIGSTOP). */
  pid: number | undefined;
}

export interface TestCluster {
  /** redis://127.0.0.1:p1,127.0.0.1:p2,... (with the password, if any). */
  url: string;
  nodes: TestClusterNode[];
  /** Stops master `i` (SIGKILL unless `graceful`, which saves its append-only file first). */
  stopNode(i: number, graceful?: boolean): Promise<void>;
  /** Starts master `i` again (same port, directory and node id) and waits for cluster_state:ok. */
  startNode(i: number): Promise<void>;
  /** Waits until every node reports cluster_state:ok. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Runs redis-cli against node `i`. */
  cli(i: number, ...args: string[]): string;
  /** Kills every node and removes the directories. */
  stop(): Promise<void>;
  /** With `tls`: the certificate (PEM) to trust, for the client's `tls: { ca }`. */
  ca: string | undefined;
}

const running = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// redis-server runs under a watchdog shell: when this process dies, even by SIGKILL or a crashed
// test worker, the shell's stdin reaches EOF and it kills redis-server and removes its directory,
// so nothing outlives the test run. stopNode writes "keep" first (the directory is reused).
const WATCHDOG =
  'redis-server "$@" & r=$!; echo $r; line=; read -r line; kill -9 $r 2>/dev/null; wait $r 2>/dev/null; ' +
  '[ "$line" = keep ] || rm -rf "$CAFS_REDIS_DIR"; exit 0';

/** True when redis-server and redis-cli are on the PATH. */
export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `n` consecutive free ports whose cluster bus ports (+10000) are free too. */
async function freePorts(n: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    let ok = true;
    for (const p of ports) if (!(await portFree(p)) || !(await portFree(p + 10000))) ok = false;
    if (ok) return ports;
  }
  throw new Error('no free loopback ports for a Redis cluster');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRedisCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  if (!redisAvailable()) {
    throw new Error('redis-server/redis-cli not found: apt-get install -y redis-server');
  }
  installExitHook();
  const masters = options.masters ?? 3;
  const password = options.password;
  const ports = await freePorts(masters);
  const nodes: TestClusterNode[] = [];
  for (const port of ports) nodes.push({ port, dir: await mkdtemp(join(tmpdir(), `cafs-redis-${port}-`)), process: undefined, pid: undefined });

  let ca: string | undefined;
  let tlsArgs: string[] = [];
  let tlsCli: string[] = [];
  if (options.tls) {
    const certDir = nodes[0]!.dir;
    const cert = join(certDir, 'cert.pem');
    const key = join(certDir, 'key.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.stderr}`);
    ca = await readFile(cert, 'utf8');
    tlsArgs = ['--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-cluster', 'yes', '--tls-auth-clients', 'no'];
    tlsCli = ['--tls', '--cacert', cert];
  }
  const auth = [...tlsCli, ...(password === undefined ? [] : ['-a', password, '--no-auth-warning'])];
  const cli = (i: number, ...args: string[]): string => {
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(nodes[i]!.port), ...auth, ...args], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return (r.stdout ?? '') + (r.stderr ?? '');
  };

  const launch = async (i: number): Promise<void> => {
    const n = nodes[i]!;
    const args = [
      ...(options.tls ? ['--port', '0', '--tls-port', String(n.port), ...tlsArgs] : ['--port', String(n.port)]),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--dir', n.dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(options.nodeTimeout ?? 2000),
      '--save', '',
      '--appendonly', options.persist ? 'yes' : 'no',
      '--appendfsync', 'no',
      '--daemonize', 'no',
      '--logfile', 'redis.log',
      ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
    ];
    const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...args], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, CAFS_REDIS_DIR: n.dir },
    });
    n.process = child;
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.once('exit', () => reject(new Error(`the redis-server watchdog for port ${n.port} exited`)));
    });
    n.pid = pid;
    running.add(pid);
    child.once('exit', () => running.delete(pid));
    const deadline = Date.now() + 10_000;
    while (!cli(i, 'ping').includes('PONG')) {
      if (!alive(pid) || Date.now() > deadline) {
        const log = await readFile(join(n.dir, 'redis.log'), 'utf8').catch(() => '');
        throw new Error(`redis-server on port ${n.port} did not start:\n${log.slice(-2000)}`);
      }
      await sleep(50);
    }
  };

  const waitReady = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = nodes.map((_, i) => cli(i, 'cluster', 'info'));
      if (infos.every((s) => s.includes('cluster_state:ok') && s.includes(`cluster_known_nodes:${masters}`) && s.includes('cluster_slots_ok:16384'))) return;
      if (Date.now() > deadline) throw new Error(`Redis cluster not ready after ${timeoutMs} ms:\n${infos.join('\n')}`);
      await sleep(100);
    }
  };

  const stopNode = async (i: number, graceful = false): Promise<void> => {
    const n = nodes[i]!;
    const child = n.process;
    const pid = n.pid;
    if (child === undefined || pid === undefined) return;
    if (graceful && alive(pid)) {
      cli(i, 'shutdown', 'save');
      for (let t = 0; t < 100 && alive(pid); t++) await sleep(50);
    }
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end('keep\n'); // the watchdog kills redis-server and exits, keeping the directory
      await Promise.race([exited, sleep(5000)]);
    }
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (let t = 0; t < 100 && alive(pid); t++) await sleep(20);
    running.delete(pid);
    n.process = undefined;
    n.pid = undefined;
  };

  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((_, i) => stopNode(i)));
    await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  };

  try {
    await Promise.all(nodes.map((_, i) => launch(i)));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes', ...auth],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await waitReady();
  } catch (err) {
    await stop();
    throw err;
  }

  const userinfo = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
  return {
    ca,
    url: `${options.tls ? 'rediss' : 'redis'}://${userinfo}${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes,
    stopNode,
    startNode: async (i) => {
      await launch(i);
      await waitReady();
    },
    waitReady,
    cli,
    stop,
  };
}
