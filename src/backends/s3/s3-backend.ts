/**
 * The s3: backend — restic's layout as object keys under an optional prefix in one bucket, on AWS
 * or any S3-compatible server (custom endpoint, path-style or virtual-host addressing). An object
 * becomes visible only when its PUT completes, so save() is atomic; files of at least
 * `multipartBytes` go up as a multipart upload (aborted on failure, so no part is left). Every
 * body carries its Content-MD5, so a server that received other bytes refuses them.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import {
  type Backend,
  type FileInfo,
  type Handle,
  HoardError,
  layoutDir,
  layoutPath,
  type LoadOptions,
  NAME_RE,
} from '../../core/index.js';
import { type S3Location, type S3Settings, clientConfig, s3Where } from './s3-config.js';
import { s3Error } from './s3-errors.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('base64');

export function createS3Backend(loc: S3Location, settings: S3Settings = {}): Backend {
  // created on first use and destroyed by close(), so a closed backend reopens on demand
  let made: S3Client | undefined;
  const client = {
    send: ((cmd: never, o?: never) =>
      (made ??= new S3Client(clientConfig(loc, settings))).send(cmd, o)) as S3Client['send'],
  };
  const bucket = loc.bucket;
  const key = (h: Handle) => (loc.prefix ? `${loc.prefix}/${layoutPath(h)}` : layoutPath(h));
  const partBytes = settings.multipartBytes ?? 8 << 20;
  const where = s3Where(loc);
  const fail = (e: unknown, op: string, what: string) => s3Error(e, op, what, where);

  async function head(h: Handle): Promise<number | undefined> {
    try {
      return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(h) }))).ContentLength ?? 0;
    } catch (e) {
      const err = fail(e, 'stat', key(h));
      if (err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async function get(h: Handle, range?: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key(h), Range: range }), {
        abortSignal: signal,
      });
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      throw fail(e, 'read', key(h));
    }
  }

  async function putMultipart(k: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: k }), {
      abortSignal: signal,
    });
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let off = 0, n = 1; off < data.length; off += partBytes, n++) {
        const body = data.subarray(off, Math.min(off + partBytes, data.length));
        const r = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: k, UploadId, PartNumber: n, Body: body, ContentMD5: md5(body) }),
          { abortSignal: signal },
        );
        parts.push({ ETag: r.ETag!, PartNumber: n });
      }
      await client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: k, UploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: signal },
      );
    } catch (e) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: k, UploadId })).catch(() => {});
      throw e;
    }
  }

  return {
    location: where,
    async create() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (e) {
        const err = fail(e, 'open', `bucket ${bucket}`);
        if (err.kind !== 'not-found') throw err;
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
        } catch (x) {
          throw fail(x, 'create', `bucket ${bucket}`);
        }
      }
      if ((await head({ type: 'config', name: '' })) !== undefined)
        throw new HoardError('io', `a repository already exists at ${where}`, {
          hint: 'use it as it is, or choose another prefix',
        });
    },
    async exists() {
      try {
        return (await head({ type: 'config', name: '' })) !== undefined;
      } catch (e) {
        if ((e as HoardError).kind === 'repo-missing') return false;
        throw e;
      }
    },
    async save(h, data, o) {
      const size = await head(h);
      if (size !== undefined) {
        if (size === data.length && (await get(h, undefined, o?.signal)).equals(data)) return;
        throw new HoardError('io', `${key(h)} already exists with other content`, { hint: 'run `hoard check`' });
      }
      try {
        if (data.length >= partBytes) await putMultipart(key(h), data, o?.signal);
        else
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key(h),
              Body: data,
              ContentMD5: md5(data),
              ContentLength: data.length,
            }),
            { abortSignal: o?.signal },
          );
      } catch (e) {
        throw fail(e, 'write', key(h));
      }
    },
    async load(h, o: LoadOptions = {}) {
      const off = o.offset ?? 0;
      if (o.length === 0) {
        const size = await head(h);
        if (size === undefined) throw new HoardError('not-found', `${key(h)} does not exist`);
        if (off > size)
          throw new HoardError('corrupt', `${key(h)} is truncated (${size} bytes, expected at least ${off})`);
        return Buffer.alloc(0);
      }
      const range =
        o.length !== undefined ? `bytes=${off}-${off + o.length - 1}` : off > 0 ? `bytes=${off}-` : undefined;
      const buf = await get(h, range, o.signal);
      if (o.length !== undefined && buf.length !== o.length)
        throw new HoardError(
          'corrupt',
          `${key(h)} is truncated (wanted ${o.length} bytes at ${off}, got ${buf.length})`,
          { hint: 'run `hoard check --read-data`' },
        );
      return buf;
    },
    async stat(h): Promise<FileInfo> {
      const size = await head(h);
      if (size === undefined) throw new HoardError('not-found', `${key(h)} does not exist`);
      return { name: h.name, size };
    },
    async remove(h) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(h) }));
      } catch (e) {
        const err = fail(e, 'remove', key(h));
        if (err.kind !== 'not-found') throw err;
      }
    },
    async *list(type, o) {
      const dir = `${loc.prefix ? `${loc.prefix}/` : ''}${layoutDir(type)}/`;
      let token: string | undefined;
      do {
        let page: ListObjectsV2CommandOutput;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: dir, ContinuationToken: token }),
            { abortSignal: o?.signal },
          );
        } catch (e) {
          throw fail(e, 'list', dir);
        }
        for (const obj of page.Contents ?? []) {
          const rel = obj.Key!.slice(dir.length).split('/');
          const name = rel[rel.length - 1];
          if (!NAME_RE.test(name)) continue;
          if (type === 'data' ? rel.length !== 2 || rel[0] !== name.slice(0, 2) : rel.length !== 1) continue;
          yield { name, size: obj.Size ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async close() {
      made?.destroy();
      made = undefined;
    },
  };
}
