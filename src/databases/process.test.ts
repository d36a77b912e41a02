import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toolEnv } from './process.js';

describe('database tool environment', () => {
  it("passes only locale, paths, identity and time zone of ours, plus the connection's own settings", () => {
    const ours = {
      PATH: '/usr/bin',
      HOME: '/root',
      USER: 'u',
      LOGNAME: 'u',
      LANG: 'C.UTF-8',
      LANGUAGE: 'en',
      LC_ALL: 'C',
      LC_TIME: 'C',
      TZ: 'UTC',
      TMPDIR: '/tmp',
      PGPASSWORD: 'server-secret',
      PGHOST: 'elsewhere',
      PGPASSFILE: '/etc/other',
      PGSERVICE: 'prod',
      PGSERVICEFILE: '/x',
      PGOPTIONS: '-c x=y',
      MYSQL_PWD: 'server-secret',
      MYSQL_HOST: 'elsewhere',
      MYSQL_TEST_LOGIN_FILE: '/x',
      HOARD_PASSWORD: 'repo',
      AWS_SECRET_ACCESS_KEY: 'k',
      LD_PRELOAD: '/x.so',
      PSQLRC: '/x',
    };
    const e = toolEnv({ PGHOST: 'db.internal', PGPASSWORD: undefined, MYSQL_PWD: 'target-secret' }, ours);
    assert.deepEqual(e, {
      PATH: '/usr/bin',
      HOME: '/root',
      USER: 'u',
      LOGNAME: 'u',
      LANG: 'C.UTF-8',
      LANGUAGE: 'en',
      LC_ALL: 'C',
      LC_TIME: 'C',
      TZ: 'UTC',
      TMPDIR: '/tmp',
      PGHOST: 'db.internal',
      MYSQL_PWD: 'target-secret',
    });
  });
});
