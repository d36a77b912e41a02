import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isHoardError } from '../core/index.js';
import {
  environmentPolicy,
  machineZone,
  nextDue,
  parseDotenv,
  parseSchedule,
  referencedVariables,
  resolveSecret,
  resolveSettings,
} from './index.js';
import { parseConfig } from './parse.js';
import type { ConfigProblem } from './load.js';

function problems(text: string): ConfigProblem[] {
  try {
    parseConfig(text, 'h.yaml');
  } catch (e) {
    assert.ok(isHoardError(e, 'config'), String(e));
    return e.context.problems as ConfigProblem[];
  }
  return [];
}

describe('config loading', () => {
  it('accepts the sketch of every section', () => {
    const c = parseConfig(
      [
        'version: 1',
        'environment: production',
        'repository: local',
        'repositories:',
        '  local: { url: .hoard/repo, password: "file:.hoard/password" }',
        'environments:',
        '  production: { protected: true, retention_days: 120 }',
        'sources:',
        '  db: { type: postgres, url: "env:DATABASE_URL", format: custom }',
        '  files: { type: files, paths: [uploads], exclude: ["*.tmp"] }',
        'jobs:',
        '  nightly: { sources: [db, files], schedule: "daily at 02:00", kind: daily, destinations: [local] }',
        'retention:',
        '  daily: { days: 7 }',
        '  manual: forever',
        'verify:',
        '  after_backup: quick',
        '  read_back: { schedule: "daily at 12:00", subset: 5% }',
        'notifications:',
        '  - { type: slack, url: "env:SLACK_URL", on: [backup.failed] }',
        'server:',
        '  listen: 127.0.0.1:7420',
      ].join('\n'),
      '/p/hoard.yaml',
    );
    assert.equal(c.dir, '/p');
    assert.equal(c.config.sources?.db.type, 'postgres');
    assert.equal(c.where(['jobs', 'nightly']), '/p/hoard.yaml:12');
  });

  it('refuses an alias without its anchor and aliases that expand without bound (found by the fuzzer: they crashed)', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 9 },
        (_, i) => `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`,
      ),
    ].join('\n');
    assert.match(problems(bomb)[0].message, /not valid YAML: Excessive alias count/);
    assert.match(problems('sources: *nope\n')[0].message, /not valid YAML: Unresolved alias/);
  });

  it('reports every problem with its line, key and a fix', () => {
    const p = problems(
      'sources:\n  db:\n    type: sqlite\n    path: 3\n    extra: 1\njobs:\n  j: { sources: [nope] }\n',
    );
    assert.deepEqual(
      p.map((x) => [x.where, x.key]),
      [
        ['h.yaml:4', 'sources.db.path'],
        ['h.yaml:5', 'sources.db.extra'],
      ],
    );
    assert.ok(p.every((x) => x.fix.length > 5));
    const refs = problems(
      'sources:\n  db: { type: sqlite, path: a.db }\njobs:\n  j:\n    sources: [db, nope]\n    ' +
        'destinations: [offsite]\n',
    );
    assert.deepEqual(
      refs.map((x) => x.where),
      ['h.yaml:5', 'h.yaml:6'],
    );
    assert.match(refs[1].message, /names the repository offsite/);
  });

  it('rejects YAML errors, non-mappings, duplicate keys, a newer version and a job named like a source', () => {
    assert.match(problems('sources: [\n')[0].message, /not valid YAML/);
    assert.match(problems('- a\n- b\n')[0].message, /must hold a mapping/);
    assert.match(problems('environment: dev\nenvironment: prod\n')[0].message, /not valid YAML/);
    assert.match(problems('version: 2\n')[0].message, /newer hoard/);
    assert.match(
      problems('sources:\n  db: { type: sqlite, path: a.db }\njobs:\n  db: { sources: [db] }\n')[0].message,
      /has the name of a source/,
    );
  });
});

describe('precedence', () => {
  const loaded = parseConfig(
    'environment: staging\nrepositories:\n  local: { url: .hoard/repo, password: "env:PW" }\n  offsite: ' +
      '{ url: "s3:https://s3/b" }\n',
    '/proj/hoard.yaml',
  );
  it('flags beat HOARD_* which beat the file; the file beats the defaults', () => {
    const none = resolveSettings({ flags: {}, vars: {} });
    assert.equal(none.repository, undefined);
    const file = resolveSettings({ flags: {}, vars: {}, loaded });
    assert.deepEqual(file.repository, {
      value: {
        name: 'local',
        url: 'local:/proj/.hoard/repo',
        password: 'env:PW',
        config: { url: '.hoard/repo', password: 'env:PW' },
      },
      from: 'file',
    });
    assert.deepEqual(file.environment, { value: 'staging', from: 'file' });
    const env = resolveSettings({ flags: {}, vars: { HOARD_REPOSITORY: '/x', HOARD_ENVIRONMENT: 'dev' }, loaded });
    assert.deepEqual(
      [env.repository?.value.url, env.repository?.from, env.environment?.value, env.environment?.from],
      ['/x', 'env', 'dev', 'env'],
    );
    const flag = resolveSettings({
      flags: { repo: 'offsite', environment: 'production' },
      vars: { HOARD_REPOSITORY: '/x', HOARD_ENVIRONMENT: 'dev' },
      loaded,
    });
    assert.deepEqual(
      [flag.repository?.value.url, flag.repository?.from, flag.environment?.value],
      ['s3:https://s3/b', 'flag', 'production'],
    );
  });
  it('environment defaults: dev 30, staging 60, production 90 and protected; the file overrides key by key', () => {
    const none = { recovery_time_objective_ms: null };
    assert.deepEqual(environmentPolicy('dev'), { name: 'dev', protected: false, retention_days: 30, ...none });
    assert.deepEqual(environmentPolicy('production'), {
      name: 'production',
      protected: true,
      retention_days: 90,
      ...none,
    });
    assert.deepEqual(environmentPolicy('qa'), { name: 'qa', protected: false, retention_days: null, ...none });
    const c = parseConfig(
      'environments:\n  production: { retention_days: 365, recovery_time_objective: 15m }\n  qa: { protected: true }\n',
      'h.yaml',
    ).config;
    assert.deepEqual(environmentPolicy('production', c), {
      name: 'production',
      protected: true,
      retention_days: 365,
      recovery_time_objective_ms: 900_000,
    });
    assert.equal(environmentPolicy('qa', c).protected, true);
  });
});

describe('secrets', () => {
  it('env: (process first, then .env), file: relative to the config, cmd:, and literal values', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hoard-secret-'));
    await writeFile(path.join(dir, 'pw'), 's3cret\n');
    const scope = { vars: { A: 'from-env' }, dotenv: { A: 'from-dotenv', B: 'dotenv-only' }, dir };
    assert.equal(await resolveSecret('env:A', scope, 'w'), 'from-env');
    assert.equal(await resolveSecret('env:B', scope, 'w'), 'dotenv-only');
    assert.equal(await resolveSecret('file:pw', scope, 'w'), 's3cret');
    assert.equal(await resolveSecret('cmd:printf "%s" "$A-x"', scope, 'w'), 'from-env-x');
    assert.equal(await resolveSecret('plain', scope, 'w'), 'plain');
    await assert.rejects(
      resolveSecret('env:NOPE', scope, 'h.yaml:3 sources.db.url'),
      /h\.yaml:3 sources\.db\.url: the variable NOPE is not set/,
    );
    await assert.rejects(resolveSecret('file:missing', scope, 'w'), /cannot read .*missing: ENOENT/);
    await assert.rejects(resolveSecret('cmd:exit 3', scope, 'w'), /the secret command failed \(exit 3\)/);
  });
  it('parses .env files', () => {
    assert.deepEqual(parseDotenv('# c\nexport A=1\nB="x y"\nC=\'$raw\'\nD=v # note\nnot a line\n'), {
      A: '1',
      B: 'x y',
      C: '$raw',
      D: 'v',
    });
    // values util.parseEnv would cut or merge: a # inside a password, an escaped quote, an unclosed quote
    assert.deepEqual(
      parseDotenv('PASSWORD=abc#123\nURL=postgres://u:p#w@h/db # note\nQ="x\\"y"\nA="oops\nDB_PASSWORD=s3cret\n'),
      {
        PASSWORD: 'abc#123',
        URL: 'postgres://u:p#w@h/db',
        Q: 'x"y',
        A: '"oops',
        DB_PASSWORD: 's3cret',
      },
    );
  });
});

describe('schedules', () => {
  it('parses the presets and cron, and explains what it cannot read', () => {
    assert.deepEqual(parseSchedule('daily at 2:05'), { ok: true, schedule: { type: 'daily', hour: 2, minute: 5 } });
    assert.deepEqual(parseSchedule('Weekly on Sun at 03:00'), {
      ok: true,
      schedule: { type: 'weekly', day: 0, hour: 3, minute: 0 },
    });
    assert.deepEqual(parseSchedule('every 15 minutes'), { ok: true, schedule: { type: 'every', ms: 900_000 } });
    assert.equal(parseSchedule('CRON_TZ=Europe/Paris 0 2 * * 1-5').ok, true);
    assert.match((parseSchedule('0 25 * * *') as { error: string }).error, /hour field "25"/);
    assert.match((parseSchedule('weekly on funday at 01:00') as { error: string }).error, /unknown day funday/);
    assert.match((parseSchedule('CRON_TZ=Mars/Base 0 2 * * *') as { error: string }).error, /unknown time zone/);
  });
  it('refuses a cron expression that never fires', () => {
    assert.match((parseSchedule('0 0 31 2 *') as { error: string }).error, /never fires/);
    assert.equal(parseSchedule('0 0 29 2 *').ok, true);
  });
  it('computes the next daily and weekly run in local time, strictly after the given time', () => {
    const nextRun = (s: ReturnType<typeof sched>, after: number) => nextDue(s, undefined, after, machineZone());
    const at = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo - 1, d, h, mi).getTime();
    const sched = (t: string) => {
      const p = parseSchedule(t);
      assert.ok(p.ok);
      return p.schedule;
    };
    const daily = sched('daily at 02:00');
    assert.equal(nextRun(daily, at(2026, 1, 31, 1, 0)), at(2026, 1, 31, 2, 0));
    assert.equal(nextRun(daily, at(2026, 1, 31, 2, 0)), at(2026, 2, 1, 2, 0));
    const weekly = sched('weekly on monday at 04:00');
    assert.equal(nextRun(weekly, at(2026, 11, 23, 5, 0)), at(2026, 11, 30, 4, 0)); // 23 Nov 2026 is a Monday
    assert.equal(nextRun(weekly, at(2026, 11, 22, 5, 0)), at(2026, 11, 23, 4, 0));
  });
});

describe('referencedVariables', () => {
  it('lists every env: name of a config once, sorted, and none from hook commands', () => {
    const config = {
      repositories: {
        a: { url: 'x', password: 'env:REPO_PW', s3: { secret_access_key: 'env:S3_SECRET', access_key_id: 'AKIA' } },
        b: { url: 'y', password: 'file:pw', sftp: { password: 'env:SFTP_PW' } },
      },
      sources: { db: { type: 'postgres', url: 'env:DATABASE_URL' }, other: { type: 'mysql', url: 'env:REPO_PW' } },
      notifications: [
        { type: 'slack', url: 'env:SLACK_URL' },
        { type: 'email', smtp: 'cmd:pass smtp', to: 'x@y' },
      ],
      jobs: { j: { sources: ['db'], hooks: { before: 'env:NOT_A_REFERENCE' } } },
    };
    assert.deepEqual(referencedVariables(config), ['DATABASE_URL', 'REPO_PW', 'S3_SECRET', 'SFTP_PW', 'SLACK_URL']);
    assert.deepEqual(referencedVariables({}), []);
  });
});
