/** Remote storage servers for the tests, each a real server process on loopback: S3 (s3rver) and SSH with OpenSSH's sftp-server. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface S3Server {
  endpoint: string;
  /** Where the server keeps its objects (folders per bucket). */
  dir: string;
  /** The credentials it accepts, as AWS_* variables. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };
  /** A repository URL under `prefix` in `bucket`. */
  url(prefix: string, bucket?: string): string;
  stop(): Promise<void>;
}

/** Waits for a child's `port N` line. */
function portOf(child: ChildProcess, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

/** Starts an S3 server with the buckets given (others can be created over the API). */
export async function startS3(buckets: string[] = ['hoard']): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-s3-'));
  const child = spawn(process.execPath, [path.join(HERE, 's3-server.js'), 'serve', dir, ...buckets], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const port = await portOf(child, 's3rver');
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    dir,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    url: (prefix, bucket = buckets[0]) => `s3:${endpoint}/${bucket}/${prefix}`,
    stop: async () => {
      if (child.exitCode === null)
        await new Promise((r) => {
          child.once('exit', r);
          child.kill('SIGTERM');
        });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FaultPlan {
  /** Drop the connection mid-body on this many PUTs of at least `bigBytes` (default 1 MiB). */
  dropBigPuts?: number;
  bigBytes?: number;
  /** Answer this many requests with 503 SlowDown before passing them on. */
  slowDowns?: number;
  /** Drop every PUT under this key part (e.g. "/data/"): a destination that fails for good. */
  dropAllPutsMatching?: string;
}

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far. */
  injected: { drops: number; slowDowns: number };
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real server that injects network faults: connections dropped in the
 * middle of an upload (the request never reaches the server) and throttling replies.
 */
export async function startFaultProxy(target: string, plan: FaultPlan): Promise<FaultProxy> {
  const { createServer, request } = await import('node:http');
  const up = new URL(target);
  const injected = { drops: 0, slowDowns: 0 };
  let dropsLeft = plan.dropBigPuts ?? 0;
  let slowLeft = plan.slowDowns ?? 0;
  const server = createServer((req, res) => {
    const len = Number(req.headers['content-length'] ?? 0);
    const dropAll =
      plan.dropAllPutsMatching && req.method === 'PUT' && (req.url ?? '').includes(plan.dropAllPutsMatching);
    if (req.method === 'PUT' && (dropAll || (dropsLeft > 0 && len >= (plan.bigBytes ?? 1 << 20)))) {
      if (!dropAll) dropsLeft--;
      injected.drops++;
      let got = 0;
      req.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= len / 2) req.socket.destroy();
      });
      return;
    }
    if (slowLeft > 0) {
      slowLeft--;
      injected.slowDowns++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your ' +
          'request rate.</Message></Error>',
      );
      return;
    }
    const out = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${a.port}`,
    injected,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface SshServer {
  port: number;
  /** The user's home on the server side (sftp-server's working folder). */
  home: string;
  /** A client key the server accepts, a known_hosts file that lists the server, and the password it accepts. */
  keyFile: string;
  knownHostsFile: string;
  password: string;
  hostFingerprint: string;
  /** `sftp://user@127.0.0.1:PORT//abs/path` for a folder under home. */
  url(rel: string): string;
  /** Connections cut so far (with drops configured). */
  drops(): number;
  stop(): Promise<void>;
}

/** Starts an SSH server whose SFTP is OpenSSH's sftp-server; `drops` connections are cut after `dropAfterBytes`. */
export async function startSsh(o: { drops?: number; dropAfterBytes?: number } = {}): Promise<SshServer> {
  const { default: ssh2 } = await import('ssh2');
  const { writeFile, mkdir } = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-ssh-'));
  const home = path.join(dir, 'home');
  await mkdir(home);
  // ssh2's generator makes about 1 ed25519 key in 250 that its own parser rejects ("Malformed
  // OpenSSH private key"): draw again until it parses
  const keyPair = () => {
    for (;;) {
      const k = ssh2.utils.generateKeyPairSync('ed25519');
      if (!(ssh2.utils.parseKey(k.private) instanceof Error)) return k;
    }
  };
  const host = keyPair();
  const user = keyPair();
  await writeFile(path.join(dir, 'host_key'), host.private, { mode: 0o600 });
  await writeFile(path.join(dir, 'id_ed25519'), user.private, { mode: 0o600 });
  await writeFile(path.join(dir, 'id_ed25519.pub'), user.public);
  const password = 'sftp-test-password';
  const child = spawn(
    process.execPath,
    [
      path.join(HERE, 'ssh-server.js'),
      'serve',
      path.join(dir, 'host_key'),
      path.join(dir, 'id_ed25519.pub'),
      password,
      home,
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        HOARD_TEST_SSH_DROPS: String(o.drops ?? 0),
        HOARD_TEST_SSH_DROP_AFTER_BYTES: String(o.dropAfterBytes ?? 0),
      },
    },
  );
  let drops = 0;
  child.stdout!.on('data', (d) => {
    drops += (String(d).match(/dropped/g) ?? []).length;
    if (process.env.HOARD_TEST_SSH_DEBUG) process.stderr.write(d);
  });
  const port = await portOf(child, 'ssh server');
  const [type, b64] = host.public.trim().split(/\s+/);
  await writeFile(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${type} ${b64}\n`);
  return {
    port,
    home,
    password,
    keyFile: path.join(dir, 'id_ed25519'),
    knownHostsFile: path.join(dir, 'known_hosts'),
    hostFingerprint: `SHA256:${createHash('sha256').update(Buffer.from(b64, 'base64')).digest('base64').replace(/=+$/, '')}`,
    url: (rel) => `sftp://tester@127.0.0.1:${port}/${path.join(home, rel)}`,
    drops: () => drops,
    stop: async () => {
      if (child.exitCode === null)
        await new Promise((r) => {
          child.once('exit', r);
          child.kill('SIGTERM');
        });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
