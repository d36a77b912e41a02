import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact, redactDeep, urlOrigin } from './redact.js';

/** [input, expected] pairs; each names a case of the module comment. */
const CASES: [string, string][] = [
  // URLs anywhere in the text, not only at its start
  ['postgres://u:pw@h/db', 'postgres://u:***@h/db'],
  [
    'sh -c echo --url=postgres://u:pw@h/db VAR=mysql://u:pw@h/db',
    'sh -c echo --url=postgres://u:***@h/db VAR=mysql://u:***@h/db',
  ],
  [
    'cannot connect to mariadb://root:hunter2@127.0.0.1:3306/app: refused',
    'cannot connect to mariadb://root:***@127.0.0.1:3306/app: refused',
  ],
  ['smtp://ops:s3cret@mail.example.com:587', 'smtp://ops:***@mail.example.com:587'],
  ['rest:https://user:pass@backup.example/repo', 'rest:https://user:***@backup.example/repo'],
  ['postgres://:onlypw@h/db', 'postgres://:***@h/db'],
  ['SFTP connect to h at sftp:u:pw@h:22:/x failed', 'SFTP connect to h at sftp:u:***@h:22:/x failed'],
  ['sftp:u@h:/srv/repo', 'sftp:u@h:/srv/repo'],
  // passwords holding / : or a raw @
  ['postgres://u:a/b@h/db', 'postgres://u:***@h/db'],
  ['postgres://u:a:b:c@h/db', 'postgres://u:***@h/db'],
  ['postgres://u:p@ss@w@rd@h:5432/db tail', 'postgres://u:***@h:5432/db tail'],
  ['"postgres://u:pa\'ss@h/db"', '"postgres://u:***@h/db"'],
  // a URL without a password is left alone
  ['postgres://app@db.internal:5432/shop', 'postgres://app@db.internal:5432/shop'],
  ['http://127.0.0.1:7420/v1/backups', 'http://127.0.0.1:7420/v1/backups'],
  // variables
  ['PGPASSWORD=hunter2 pg_dump shop', 'PGPASSWORD=*** pg_dump shop'],
  ['MYSQL_PWD=hunter2 mysqldump app', 'MYSQL_PWD=*** mysqldump app'],
  [
    'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG AWS_ACCESS_KEY_ID=AKIAEXAMPLE',
    'AWS_SECRET_ACCESS_KEY=*** AWS_ACCESS_KEY_ID=AKIAEXAMPLE',
  ],
  ['AWS_SESSION_TOKEN=FwoGZXIvYXdzE', 'AWS_SESSION_TOKEN=***'],
  ['HOARD_PASSWORD="a b c" hoard list', 'HOARD_PASSWORD=*** hoard list'],
  // flags
  ['--password=hunter2', '--password=***'],
  ['restic --password hunter2 snapshots', 'restic --password *** snapshots'],
  ['pg_dump --password --dbname shop', 'pg_dump --password --dbname shop'],
  ['mysql -u root -phunter2 app', 'mysql -u root -p*** app'],
  ['sh -c \'mariadb-dump -u root -p"x y" app\'', "sh -c 'mariadb-dump -u root -p*** app'"],
  ['mysql -u root -p app', 'mysql -u root -p app'],
  ['(mysql -pab1; echo) && mysql -pcd2|x', '(mysql -p***; echo) && mysql -p***|x'],
  ['find . -print', 'find . -print'],
  // HTTP credentials
  ['Authorization: Bearer abc.def-ghi', 'Authorization: Bearer ***'],
  ['authorization: Basic dXNlcjpwYXNz', 'authorization: Basic ***'],
  ['{"authorization":"hoard_abcdef"}', '{"authorization":"***"}'],
  ['curl -H "Bearer hoard_0123456789abcdef"', 'curl -H "Bearer ***"'],
  ['send Authorization: Bearer <token> (create one)', 'send Authorization: Bearer <token> (create one)'],
  ['a bearer token is required', 'a bearer token is required'],
  // pairs in query strings, conninfo strings and JSON
  ['https://api.example/x?user=a&password=hunter2&mode=1', 'https://api.example/x?user=a&password=***&mode=1'],
  ['https://api.example/x?token=abc&api_key=def&secret=ghi', 'https://api.example/x?token=***&api_key=***&secret=***'],
  [
    'https://b.s3.example/o?X-Amz-Signature=abc123&X-Amz-Security-Token=def',
    'https://b.s3.example/o?X-Amz-Signature=***&X-Amz-Security-Token=***',
  ],
  ['host=db port=5432 password=hunter2 dbname=shop', 'host=db port=5432 password=*** dbname=shop'],
  ["host=db password='a b c' user=app", 'host=db password=*** user=app'],
  ['{"password":"hunter2","user":"app"}', '{"password":"***","user":"app"}'],
  ['{"client_secret": "x\\"y"}', '{"client_secret": "***"}'],
  // webhooks whose path is the secret
  ['https://hooks.slack.com/services/T000/B000/XXXXSECRET failed', 'https://hooks.slack.com/services/*** failed'],
  ['https://discord.com/api/webhooks/123/SECRETTOKEN', 'https://discord.com/api/webhooks/***'],
  ['https://discordapp.com/api/webhooks/123/SECRETTOKEN', 'https://discordapp.com/api/webhooks/***'],
  ['https://canary.discord.com/api/v10/webhooks/123/SECRETTOKEN', 'https://canary.discord.com/api/v10/webhooks/***'],
  ['https://hc-ping.com/0b6e0e7a-uuid', 'https://hc-ping.com/***'],
  // found by a review: YAML/log style, curl, *_PASS, passphrases, hoard's own tokens
  ['password: hunter2', 'password: ***'],
  ['AWS_SECRET_ACCESS_KEY: abc123', 'AWS_SECRET_ACCESS_KEY: ***'],
  ['curl -u admin:pw https://x', 'curl -u admin:*** https://x'],
  ['DB_PASS=zzz passphrase=abc', 'DB_PASS=*** passphrase=***'],
  ['token hoard_abcdefghijklmnopqrstuvwxyz012345 here', 'token hoard_*** here'],
  ['scratch hoard_drill_1234_abcdef0123456789 dropped', 'scratch hoard_drill_1234_abcdef0123456789 dropped'],
  // ordinary messages stay as they are
  ['the variable HOARD_PASSWORD is not set', 'the variable HOARD_PASSWORD is not set'],
  [
    'hoard.yaml:6 repositories.x.password: cannot read /p/pw: ENOENT',
    'hoard.yaml:6 repositories.x.password: cannot read /p/pw: ENOENT',
  ],
  ['set HOARD_NEW_PASSWORD or HOARD_NEW_PASSWORD_FILE', 'set HOARD_NEW_PASSWORD or HOARD_NEW_PASSWORD_FILE'],
];

describe('redact', () => {
  for (const [input, expected] of CASES) {
    it(input, () => assert.equal(redact(input), expected));
  }

  it('is idempotent', () => {
    for (const [input] of CASES) assert.equal(redact(redact(input)), redact(input), input);
  });

  it('stays fast on long hostile input', () => {
    const t0 = performance.now();
    for (const s of [
      'a.'.repeat(20_000),
      'x://u:'.repeat(5000),
      'password'.repeat(5000),
      `mysql ${' -p'.repeat(5000)}`,
      'Bearer '.repeat(5000),
      'authorization: '.repeat(5000),
      `${'a@'.repeat(5000)}x://u:${'b@'.repeat(5000)}`,
    ])
      redact(s);
    assert.ok(performance.now() - t0 < 500, `${Math.round(performance.now() - t0)} ms`);
  });
});

describe('redactDeep', () => {
  it('redacts every string of a plain value and keeps its shape', () => {
    const v = { a: 'postgres://u:pw@h/db', b: ['PGPASSWORD=x', 3, null], c: { d: true } };
    assert.deepEqual(redactDeep(v), { a: 'postgres://u:***@h/db', b: ['PGPASSWORD=***', 3, null], c: { d: true } });
  });
});

describe('urlOrigin', () => {
  it('keeps only the scheme and host', () => {
    assert.equal(urlOrigin('https://hooks.slack.com/services/T/B/SECRET'), 'https://hooks.slack.com');
    assert.equal(urlOrigin('https://u:pw@hc.example:8443/ping/uuid?x=1'), 'https://hc.example:8443');
    assert.equal(urlOrigin('not a url'), '***');
  });
});
