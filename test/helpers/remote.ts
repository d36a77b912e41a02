/** Remote storage servers for the tests, each a real server process on loopback: S3 (s3rver). */
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
    child.stderr!.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

/** Starts an S3 server with the buckets given (others can be created over the API). */
export async function startS3(buckets: string[] = ['hoard']): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-s3-'));
  const child = spawn(process.execPath, [path.join(HERE, 's3-server.js'), 'serve', dir, ...buckets], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await portOf(child, 's3rver');
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint, dir,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    url: (prefix, bucket = buckets[0]) => `s3:${endpoint}/${bucket}/${prefix}`,
    stop: async () => {
      if (child.exitCode === null) await new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); });
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
    const dropAll = plan.dropAllPutsMatching && req.method === 'PUT' && (req.url ?? '').includes(plan.dropAllPutsMatching);
    if (req.method === 'PUT' && (dropAll || (dropsLeft > 0 && len >= (plan.bigBytes ?? 1 << 20)))) {
      if (!dropAll) dropsLeft--;
      injected.drops++;
      let got = 0;
      req.on('data', (d: Buffer) => { got += d.length; if (got >= len / 2) req.socket.destroy(); });
      return;
    }
    if (slowLeft > 0) {
      slowLeft--;
      injected.slowDowns++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${a.port}`, injected,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
