/**
 * A real S3-protocol server process for tests (the s3rver package, which checks SigV4 signatures
 * with the key S3RVER / S3RVER): stores under the folder given, listens on 127.0.0.1 on a free port
 * and prints `port N`. Run: node s3-server.js serve DIR [BUCKET…] (without `serve` it exits at once,
 * so that a test runner that loads every file does not start a server that never ends).
 * s3rver does not decode aws-chunked (streaming-signature) bodies, which restic's client sends on
 * plain HTTP: restic reads from it (--no-lock), it does not write to it.
 */
import S3rver from 's3rver';

if (process.argv[2] === 'serve') {
  const [dir, ...buckets] = process.argv.slice(3);
  // serviceEndpoint: virtual-host requests name BUCKET.s3.localhost, as AWS's name BUCKET.s3.amazonaws.com
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: dir,
    silent: true,
    serviceEndpoint: 'localhost',
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = (await server.run()) as { port: number };
  process.stdout.write(`port ${port}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
  // the test that started it holds our stdin: when it goes away (even killed), so do we
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
