/**
 * The s3: backend against a real S3-protocol server on loopback (s3rver, SigV4 checked): the
 * storage conformance suite, multipart uploads, bad credentials and a missing bucket.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { backendConformance } from '../../src/core/storage/conformance.js';
import { openBackend } from '../../src/backends/index.js';
import { type S3Server, startS3 } from '../helpers/remote.js';

let server: Promise<S3Server> | undefined;
const s3 = () => (server ??= startS3(['hoard']));
after(async () => {
  if (server) await (await server).stop();
});

backendConformance('s3', async () => {
  const srv = await s3();
  const prefix = `conf-${randomBytes(6).toString('hex')}`;
  const client = new S3Client({
    endpoint: srv.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: srv.env.AWS_ACCESS_KEY_ID, secretAccessKey: srv.env.AWS_SECRET_ACCESS_KEY },
  });
  return {
    backend: openBackend(srv.url(prefix), { vars: srv.env }),
    cleanup: async () => {
      client.destroy();
    },
    plantJunk: async (rel) => {
      await client.send(new PutObjectCommand({ Bucket: 'hoard', Key: `${prefix}/${rel}`, Body: 'junk' }));
    },
  };
});

describe('s3 backend errors', () => {
  it('wrong credentials: a clear error naming the credentials, not retried', async () => {
    const srv = await s3();
    const retries: string[] = [];
    // (s3rver checks the access key id; it accepts any signature)
    const b = openBackend(srv.url('creds'), {
      vars: { AWS_ACCESS_KEY_ID: 'NOT-A-KEY', AWS_SECRET_ACCESS_KEY: 'wrong-secret' },
      onRetry: (op) => retries.push(op),
    });
    await assert.rejects(b.exists(), (e: Error & { kind?: string; hint?: string }) => {
      assert.equal(e.kind, 'io');
      assert.match(e.message, /refused the stat of creds\/config: (HTTP 403 Forbidden|InvalidAccessKeyId)/);
      assert.match(e.hint ?? '', /AWS_ACCESS_KEY_ID/);
      assert.doesNotMatch(`${e.message} ${e.hint}`, /wrong-secret/, 'the secret is not echoed');
      return true;
    });
    assert.deepEqual(retries, []);
  });

  it('virtual-host addressing: the bucket travels in the host name', async (t) => {
    const srv = await s3();
    // *.localhost is loopback (RFC 6761); this machine's resolver does not say so, so say it here
    const real = dns.lookup;
    (dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) =>
      host.endsWith('.localhost')
        ? (real as (...a: unknown[]) => void)('127.0.0.1', ...rest)
        : (real as (...a: unknown[]) => void)(host, ...rest);
    t.after(() => {
      (dns as { lookup: unknown }).lookup = real;
    });
    const b = openBackend(`s3:${srv.endpoint.replace('127.0.0.1', 's3.localhost')}/hoard/vhost`, {
      vars: srv.env,
      s3: { pathStyle: false },
    });
    await b.create();
    await b.save({ type: 'config', name: '' }, Buffer.from('vhost'));
    assert.equal((await b.load({ type: 'config', name: '' })).toString(), 'vhost');
    await b.close();
    // the server filed it in the bucket named by the host, under the prefix
    assert.equal(await readFile(path.join(srv.dir, 'hoard', 'vhost', 'config._S3rver_object'), 'utf8'), 'vhost');
  });

  it('a missing bucket: opening says repo-missing; create() makes the bucket', async () => {
    const srv = await s3();
    const b = openBackend(srv.url('p', 'not-there-yet'), { vars: srv.env });
    assert.equal(await b.exists(), false);
    await assert.rejects(b.load({ type: 'config', name: '' }), { kind: 'repo-missing' });
    await b.create();
    await b.save({ type: 'config', name: '' }, Buffer.from('cfg'));
    assert.equal(await b.exists(), true);
  });
});
