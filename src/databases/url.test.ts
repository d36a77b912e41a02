import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HoardError } from '../core/index.js';
import { describe as describeConnection, parseDatabaseUrl, redactUrl } from './url.js';

describe('database URLs', () => {
  it('parses every form users write', () => {
    assert.deepEqual(parseDatabaseUrl('postgres://app:p%40ss@db.internal:6543/shop?sslmode=require'), {
      engine: 'postgres',
      host: 'db.internal',
      port: 6543,
      user: 'app',
      password: 'p@ss',
      database: 'shop',
      options: { sslmode: 'require' },
    });
    assert.deepEqual(parseDatabaseUrl('postgresql://[::1]/x'), { engine: 'postgres', host: '::1', database: 'x' });
    assert.deepEqual(parseDatabaseUrl('postgres:///shop?host=/var/run/postgresql'), {
      engine: 'postgres',
      host: undefined,
      database: 'shop',
      options: { host: '/var/run/postgresql' },
    });
    assert.deepEqual(parseDatabaseUrl('mariadb://root@127.0.0.1:3306/app'), {
      engine: 'mysql',
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      database: 'app',
    });
    assert.deepEqual(parseDatabaseUrl('sqlite:data/app.db'), { engine: 'sqlite', path: 'data/app.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///srv/app.db'), { engine: 'sqlite', path: '/srv/app.db' });
    assert.deepEqual(parseDatabaseUrl('data/app.db'), { engine: 'sqlite', path: 'data/app.db' });
  });

  it('rejects unknown schemes and unparsable URLs with a usage error that hides the password', () => {
    assert.throws(
      () => parseDatabaseUrl('oracle://x/y'),
      (e) => e instanceof HoardError && e.kind === 'usage' && /postgres:\/\//.test(e.hint ?? ''),
    );
    assert.throws(
      () => parseDatabaseUrl('postgres://u:secret@[bad/db'),
      (e) => e instanceof HoardError && e.kind === 'usage' && !e.message.includes('secret'),
    );
  });

  it('a malformed %-escape is a usage error naming the part, never the password (found by the fuzzer: URIError)', () => {
    for (const [url, part] of [
      ['postgres://u:se%ZZcret@h/db', 'password'],
      ['postgres://u%E0@h/db', 'user name'],
      ['mysql://u@h/d%E0%A4b', 'database name'],
    ]) {
      assert.throws(
        () => parseDatabaseUrl(url),
        (e) =>
          e instanceof HoardError &&
          e.kind === 'usage' &&
          e.message.includes(part) &&
          !e.message.includes('cret') &&
          /%25/.test(e.hint ?? ''),
        url,
      );
    }
  });

  it('never shows a password', () => {
    assert.equal(redactUrl('postgres://u:secret@h/db'), 'postgres://u:***@h/db');
    const c = parseDatabaseUrl('mysql://u:secret@h:3306/db');
    assert.equal(describeConnection(c), 'mysql://u@h:3306/db');
    assert.equal(describeConnection(parseDatabaseUrl('postgres://[::1]:5432/x')), 'postgres://[::1]:5432/x');
  });
});
