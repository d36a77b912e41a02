/** A webhook receiver on loopback for notification tests: every request's path and body, in order. */
import { createServer } from 'node:http';
import type { TestContext } from 'node:test';

export interface Hooks {
  port: number;
  /** Every request received so far. */
  got: { path: string; body: string }[];
}

/** Starts the receiver (answering `status(path)`, default 200); closed after the test. */
export async function webhookSink(t: TestContext, status: (path: string) => number = () => 200): Promise<Hooks> {
  const got: Hooks['got'] = [];
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ path: req.url ?? '', body });
      res.statusCode = status(req.url ?? '');
      res.end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t.after(() => http.close());
  return { port: (http.address() as { port: number }).port, got };
}
