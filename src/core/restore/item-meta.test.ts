/** applyMetaSync's set-id rule where the node gives no mode: bits the item inherited are checked too. */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyMetaSync } from './item-meta.js';

function setgidFolder(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hoard-meta-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  fs.chownSync(d, 0, 2345);
  fs.chmodSync(d, 0o2755);
  return d;
}

/** A folder made in `parent` (inheriting its group and setgid), after applyMetaSync without perms. */
function childAfter(parent: string, name: string, gid: number): fs.Stats {
  const p = path.join(parent, name);
  fs.mkdirSync(p, 0o750);
  assert.equal(fs.statSync(p).mode & 0o2000, 0o2000, 'the folder inherited setgid');
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    applyMetaSync(fd, { owner: false, uid: 0, gid, atime: { s: 1, ns: 0 }, mtime: { s: 1, ns: 0 } });
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(p);
}

describe('applyMetaSync without a mode', () => {
  it("drops an inherited setgid bit when the group is not the node's, keeps it when it is, and leaves the rest", (t) => {
    const parent = setgidFolder(t);
    const other = childAfter(parent, 'other', 0);
    assert.equal(other.mode & 0o7777, 0o750);
    const same = childAfter(parent, 'same', 2345);
    assert.equal(same.mode & 0o7777, 0o2750);
    assert.equal(same.mtimeMs, 1000);
  });
});
