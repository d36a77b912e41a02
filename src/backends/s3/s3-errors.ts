/** S3 SDK failures as HoardErrors: missing objects and buckets, refused credentials, throttling and network trouble (retryable). */
import { HoardError } from '../../core/index.js';

type SdkError = Error & {
  name: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
};

const TRANSIENT_NET =
  /ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|EAI_AGAIN|socket hang up|ECONNABORTED|TimeoutError|RequestTimeout|aborted/i;

export function s3Error(e: unknown, op: string, what: string, where: string): HoardError {
  if (e instanceof HoardError) return e;
  const x = e as SdkError;
  const code = x.Code ?? x.name ?? x.code ?? '';
  const status = x.$metadata?.httpStatusCode;
  if (code === 'AbortError' || x.name === 'AbortError')
    return new HoardError('interrupted', `${op} ${what}: interrupted`, { cause: e });
  if (code === 'NoSuchBucket')
    return new HoardError('repo-missing', `the bucket of ${where} does not exist`, {
      hint: 'create the repository (and the bucket) with `hoard init`',
      cause: e,
    });
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404)
    return new HoardError('not-found', `${what} does not exist`, { cause: e });
  if (code === 'InvalidRange' || status === 416)
    return new HoardError('corrupt', `${what} is shorter than the range read`, {
      hint: 'run `hoard check --read-data`',
      cause: e,
    });
  if (
    [
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'AccessDenied',
      'ExpiredToken',
      'InvalidToken',
      'CredentialsProviderError',
    ].includes(code) ||
    status === 403 ||
    /Could not load credentials/i.test(x.message)
  ) {
    const why =
      !code || code === 'UnknownError' || code === 'Unknown'
        ? `HTTP ${status ?? '403'} Forbidden`
        : `${code} (${x.message.split('\n')[0]})`;
    return new HoardError('io', `${where} refused the ${op} of ${what}: ${why}`, {
      hint:
        'check the S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the ' +
        "repository's s3: settings in hoard.yaml",
      cause: e,
    });
  }
  const throttled =
    ['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException'].includes(
      code,
    ) ||
    status === 429 ||
    status === 503;
  const retryable =
    throttled ||
    (status !== undefined && status >= 500) ||
    x.$fault === 'server' ||
    TRANSIENT_NET.test(`${code} ${x.message}`);
  return new HoardError(
    'io',
    `S3 ${op} of ${what} at ${where} failed: ${code || status || ''} ${x.message.split('\n')[0]}`
      .replace(/\s+/g, ' ')
      .trim(),
    { retryable, context: throttled ? { throttled: true } : undefined, cause: e },
  );
}
