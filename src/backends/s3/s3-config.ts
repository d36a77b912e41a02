/**
 * s3: repository URLs (restic's forms) and the client settings: endpoint, addressing, region and
 * credentials (hoard.yaml, then AWS_* variables, then the AWS profile files through the SDK).
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { HoardError } from '../../core/index.js';

// The SDK warns on every Node below 22 that its releases after January 2027 will need Node 22.
// hoard pins a release that supports Node 20 (package.json), so the notice is not for our users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Location {
  /** A custom endpoint URL (http or https); undefined for AWS itself. */
  endpoint?: string;
  bucket: string;
  /** Key prefix without slashes at the ends; "" for the bucket's root. */
  prefix: string;
}

export interface S3Settings {
  region?: string;
  /** Path-style (`host/bucket/key`) rather than virtual-host (`bucket.host/key`) addressing. Default: path-style for a custom endpoint. */
  pathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** A profile of ~/.aws/credentials and ~/.aws/config. */
  profile?: string;
  /** Files of at least this size go up in parts of this size (default 8 MiB). */
  multipartBytes?: number;
  /** Variables to read AWS_* from (default: none; the SDK then reads the process environment). */
  vars?: NodeJS.ProcessEnv;
}

/**
 * Parses `s3:host/bucket[/prefix]` (https), `s3:https://host[:port]/bucket[/prefix]` or
 * `s3:http://…`; `s3.amazonaws.com` as host means AWS itself.
 */
/** How messages name the repository: s3:ENDPOINT/BUCKET[/PREFIX]. */
export function s3Where(loc: S3Location): string {
  return `s3:${loc.endpoint ?? 's3.amazonaws.com'}/${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
}

export function parseS3Url(rest: string): S3Location {
  const m = /^(?:(https?):\/\/)?([^/]+)\/([^/]+)(?:\/(.*))?$/.exec(rest);
  if (!m)
    throw new HoardError('usage', `s3:${rest} is not an S3 repository URL`, {
      hint: 'use s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3:s3.amazonaws.com/BUCKET[/PREFIX]',
    });
  const [, scheme, host, bucket, prefix] = m;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new HoardError('usage', `${bucket} is not a valid bucket name`, {
      hint: 'bucket names are 3–63 lowercase letters, digits, dots and hyphens',
    });
  const aws = !scheme && /^s3([.-][a-z0-9-]+)?\.amazonaws\.com$/.test(host);
  return {
    endpoint: aws ? undefined : `${scheme ?? 'https'}://${host}`,
    bucket,
    prefix: (prefix ?? '').replace(/^\/+|\/+$/g, ''),
  };
}

/** The SDK client configuration. Retries are the retry wrapper's job (src/backends/compose.ts), so the SDK makes one attempt. */
export function clientConfig(loc: S3Location, s: S3Settings): S3ClientConfig {
  const v = s.vars ?? {};
  const id = s.accessKeyId ?? v.AWS_ACCESS_KEY_ID;
  const secret = s.secretAccessKey ?? v.AWS_SECRET_ACCESS_KEY;
  return {
    region: s.region ?? v.AWS_REGION ?? v.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: loc.endpoint,
    forcePathStyle: s.pathStyle ?? loc.endpoint !== undefined,
    ...(id && secret
      ? {
          credentials: {
            accessKeyId: id,
            secretAccessKey: secret,
            sessionToken: s.sessionToken ?? v.AWS_SESSION_TOKEN,
          },
        }
      : {}),
    ...((s.profile ?? v.AWS_PROFILE) ? { profile: s.profile ?? v.AWS_PROFILE } : {}),
    maxAttempts: 1,
    // plain Content-MD5 bodies, no aws-chunked trailers: what every S3-compatible server accepts
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}
