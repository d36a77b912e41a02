/**
 * The one redaction of hoard: every text that is stored (snapshot metadata, run history, task
 * records) or printed (CLI errors, daemon logs, notifications) goes through `redact`. It replaces
 * secrets by `***` and leaves the rest readable. It errs on the side of hiding too much: a URL with
 * `@` in its path may lose the part before the `@`, and an attached `-pVALUE` after a MySQL client
 * name is hidden even when it was meant as something else.
 *
 * What it hides:
 * - Slack (`hooks.slack.com/services/…`), Discord (`discord[app].com/api/webhooks/…`) and
 *   healthchecks.io (`hc-ping.com/…`) webhook paths, whose path is the secret;
 * - the password of `user:password@` in any URL anywhere in the text (a password may hold `/`,
 *   `:` or a raw `@`: the last `@` of the word ends it), and in restic's `sftp:user:password@host:/path`;
 * - `NAME=value` and `name = value` where the name holds password, passwd, pwd, secret, token,
 *   api_key/apikey or signature (PGPASSWORD=, MYSQL_PWD=, AWS_SECRET_ACCESS_KEY=,
 *   AWS_SESSION_TOKEN=, --password=, query strings, libpq conninfo `password=`), quoted values whole;
 * - `"password": "value"` in JSON;
 * - `--password VALUE` (and --passwd, --token, --secret, --api-key) given as a separate word;
 * - MySQL's attached `-pVALUE` on a line that names a MySQL/MariaDB client;
 * - `Authorization: SCHEME value` and `Bearer value` (a token of 8 or more characters);
 * - `NAME_PASS=value`, `password: value` (YAML and log style), `curl -u user:password`, and
 *   hoard's own API tokens (`hoard_` and 32 characters).
 *
 * Pure and idempotent: redact(redact(x)) === redact(x).
 */

const MASK = '***';

/** Names whose value is a secret (as a part of a longer name too: PGPASSWORD, client_secret). */
const SECRET_WORD = '(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|signature)';

/** A value after `=`: quoted whole, else up to white space, `&`, `;` or a quote. */
const VALUE = `(?:'[^']*'|"[^"]*"|[^\\s&;"'<>]+)`;

/** HTTP authentication schemes: the word after `Authorization:` that is not the secret. */
const AUTH_SCHEME = '(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)';

const RULES: [RegExp, string | ((...m: string[]) => string)][] = [
  // webhooks whose path is the credential
  [/\b(https?:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/)[^\s"'<>]+/gi, `$1${MASK}`],
  [/\b(https?:\/\/(?:[a-z]+\.)?discord(?:app)?\.com\/api\/(?:v\d+\/)?webhooks\/)[^\s"'<>]+/gi, `$1${MASK}`],
  [/\b(https?:\/\/hc-ping\.com\/)[^\s"'<>]+/gi, `$1${MASK}`],
  // user:password@ in a URL; the password runs to the last @ of the word (quotes end it when they can);
  // the bounds keep long hostile text linear
  [/\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:@/"'<>]{0,256}):(?:[^\s"'<>]{1,1024}|\S{1,1024})@/gi, `$1:${MASK}@`],
  // restic's sftp:user:password@host:/path (no //)
  [/\b(sftp:[^\s:@/"'<>]{1,256}):(?:[^\s"'<>]{1,1024}|\S{1,1024})@/gi, `$1:${MASK}@`],
  // "password": "value" in JSON
  [new RegExp(`("[\\w.-]{0,40}${SECRET_WORD}[\\w.-]{0,40}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${MASK}"`],
  // NAME=value, --password=value, ?token=value, conninfo password=value
  [
    new RegExp(`(?<![\\w-])([\\w-]{0,40}?${SECRET_WORD}[\\w-]{0,40}\\s*=\\s*)${VALUE}`, 'gi'),
    (_, k: string) => `${k}${MASK}`,
  ],
  // DB_PASS=value, SMTP_PASS=value (PASS as the last part of a name)
  [new RegExp(`(?<![\\w-])([\\w-]{0,40}[_-]pass\\s*=\\s*)${VALUE}`, 'gi'), (_, k: string) => `${k}${MASK}`],
  // password: value, token: value (YAML, logs); not Authorization, handled below
  // (a dotted hoard.yaml key path such as `repositories.x.password:` in a message is a name, not a secret)
  [
    new RegExp(`(?<![\\w.-])([\\w-]{0,40}?${SECRET_WORD}[\\w-]{0,40}:[ \\t]+)(?!\\*\\*\\*)(?!")${VALUE}`, 'gi'),
    (_, k: string) => `${k}${MASK}`,
  ],
  // curl -u user:password, --user user:password
  [/((?:\s|^)(?:-u|--user)\s+[^\s:'"]{1,256}:)(?:'[^']*'|"[^"]*"|[^\s'"]+)/g, `$1${MASK}`],
  // hoard's own API tokens (hoard token new)
  [/\bhoard_(?!drill_)[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/g, `hoard_${MASK}`],
  // --password VALUE as two words (a value that is not itself a flag)
  [
    new RegExp(`(?<![\\w-])(--(?:password|passwd|token|secret|api-key)\\s+)(?!-)${VALUE}`, 'gi'),
    (_, k: string) => `${k}${MASK}`,
  ],
  // mysql -pSECRET (attached; a bare -p prompts), from a MySQL client's name to the end of the line;
  // unquoted, the value ends where the shell would end it
  [
    /\b(?:mysql|mariadb)[\w-]*\b[^\n]*/gi,
    (line: string) => line.replace(/(\s-p)(?:'[^']*'|"[^"]*"|[^\s"';&|<>()]+)/g, `$1${MASK}`),
  ],
  // HTTP credentials
  [
    new RegExp(
      `(\\bauthorization["']?\\s*[:=]\\s*["']?)(?:(${AUTH_SCHEME})\\s+)?(?!<)(?!${AUTH_SCHEME}\\s)[^\\s"',;]+`,
      'gi',
    ),
    (_, k: string, scheme?: string) => `${k}${scheme ? `${scheme} ` : ''}${MASK}`,
  ],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/g, `$1${MASK}`],
];

/** `text` with every secret it recognises replaced by `***` (see the module comment). */
export function redact(text: string): string {
  let out = text;
  for (const [re, to] of RULES) out = out.replace(re, to as string);
  return out;
}

/** A copy of `value` with redact() applied to every string in it (objects and arrays walked). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}

/** Only the scheme and host of a URL ("https://hooks.slack.com"), for naming a channel; `***` when it is no URL. */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : `${u.protocol}${MASK}`;
  } catch {
    return MASK;
  }
}
