/**
 * An HTTP proxy in front of s3rver that decodes aws-chunked (streaming-signature) request bodies,
 * which restic's S3 client sends on plain HTTP and s3rver would store verbatim. Each chunk is
 * `HEX;chunk-signature=…\r\nDATA\r\n`, ending with a zero-size chunk; the proxy forwards DATA with
 * the decoded length. s3rver does not check signatures, so the rewritten headers pass.
 */
import { createServer, request } from 'node:http';

/** Decodes a whole aws-chunked body. */
export function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new Error('aws-chunked: no chunk header');
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (Number.isNaN(size)) throw new Error('aws-chunked: bad chunk size');
    if (size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

export async function startChunkDecodingProxy(target: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const up = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      const headers = { ...req.headers };
      if (String(headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) {
        body = decodeAwsChunked(body);
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        delete headers['x-amz-decoded-content-length'];
        const enc = String(headers['content-encoding'] ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x && x !== 'aws-chunked');
        if (enc.length) headers['content-encoding'] = enc.join(',');
        else delete headers['content-encoding'];
      }
      headers['content-length'] = String(body.length);
      const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// `node aws-chunked-proxy.js serve TARGET` runs the proxy as its own process (for the benchmark,
// whose timed commands block the calling process) and prints `port N`.
if (process.argv[2] === 'serve') {
  const p = await startChunkDecodingProxy(process.argv[3]);
  process.stdout.write(`port ${new URL(p.endpoint).port}\n`);
  process.on('SIGTERM', () => {
    void p.close().then(() => process.exit(0));
  });
}
