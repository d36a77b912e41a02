/** How a failed MariaDB/MySQL tool is named: a dump that fails at a table is no connection failure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HoardError } from '../../core/index.js';
import { myConnectionError, myRestoreError } from './connection.js';

const c = { engine: 'mysql' as const, host: '127.0.0.1', port: 3306, user: 'root', database: 'shop' };
const failed = (msg: string) => new HoardError('command-failed', `/usr/bin/mariadb-dump exited with status 2: ${msg}`);

describe('MySQL tool failures', () => {
  it('a dump that loses its connection at a table says the table and is not "cannot connect"', () => {
    const e = myConnectionError(
      failed('mariadb-dump: Error 2013: Lost connection to server during query when dumping table `b` at row: 0'),
      c,
    ) as HoardError;
    assert.equal(e.kind, 'command-failed');
    assert.match(e.message, /failed at table `b`/);
    assert.doesNotMatch(e.message, /cannot connect/);
    assert.match(e.hint ?? '', /no snapshot was saved/);
  });

  it('a refused login is still a connection failure (exit 3)', () => {
    const e = myConnectionError(failed("ERROR 1045 (28000): Access denied for user 'x'@'localhost'"), c) as HoardError;
    assert.equal(e.kind, 'db-connection');
  });

  it("a statement above the target's max_allowed_packet names the setting", () => {
    const e = myRestoreError(
      failed("ERROR 1153 (08S01) at line 30: Got a packet bigger than 'max_allowed_packet' bytes"),
      c,
    ) as HoardError;
    assert.equal(e.kind, 'command-failed');
    assert.match(e.message, /too large/);
    assert.match(e.hint ?? '', /max_allowed_packet/);
  });
});
