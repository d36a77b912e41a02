/**
 * A scratch MariaDB server for tests that need server settings (max_allowed_packet, log_bin):
 * mariadb-install-db into a temporary folder, mariadbd on a free loopback port with its socket
 * there, stopped and removed after the test. The shared server is never touched.
 */
import type { TestContext } from 'node:test';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../src/databases/postgres/cluster.js';
import { run } from './services.js';

export interface MariaServer {
  /** mysql://root@127.0.0.1:PORT (append /DB). */
  url: string;
  /** Runs SQL as root (client packet 1 GiB); throws with the server's message on failure. */
  exec(sql: string, db?: string): Promise<string>;
}

/** Starts mariadbd with `settings` (command-line options such as `--max-allowed-packet=1G`). */
export async function startMariadb(t: TestContext, settings: string[] = []): Promise<MariaServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hoard-mariadb-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const install = await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    '--user=root',
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  if (install.code !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const server = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'sock')}`,
      `--pid-file=${path.join(dir, 'pid')}`,
      '--innodb-buffer-pool-size=64M',
      '--innodb-log-file-size=256M',
      ...settings,
    ],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    server.kill('SIGKILL');
    await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(null)));
    await fs.rm(dir, { recursive: true, force: true });
  });
  const exec = async (sql: string, db?: string) => {
    const r = await run(
      'mariadb',
      [
        '--no-defaults',
        '-h',
        '127.0.0.1',
        '-P',
        String(port),
        '-u',
        'root',
        '-N',
        '-B',
        '--max-allowed-packet=1G',
        ...(db ? [`--database=${db}`] : []),
      ],
      { input: sql },
    );
    if (r.code !== 0) throw new Error(`mariadb on port ${port}: ${r.stderr}`);
    return r.stdout.trim();
  };
  for (let i = 0; ; i++) {
    try {
      await exec('SELECT 1');
      break;
    } catch (e) {
      if (i > 100 || server.exitCode !== null) throw e;
      await sleep(200);
    }
  }
  return { url: `mysql://root@127.0.0.1:${port}`, exec };
}
