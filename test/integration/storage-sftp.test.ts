/**
 * The sftp: backend against a real SSH server on loopback whose SFTP is OpenSSH's sftp-server:
 * the storage conformance suite; key and password logins; a wrong password; an unknown host key,
 * a changed host key and a configured fingerprint.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { backendConformance } from '../../src/core/storage/conformance.js';
import { openBackend } from '../../src/backends/index.js';
import { type SshServer, startSsh } from '../helpers/remote.js';

let server: Promise<SshServer> | undefined;
const ssh = () => (server ??= startSsh());
after(async () => {
  if (server) await (await server).stop();
});

const opts = (s: SshServer, extra = {}) => ({
  sftp: { keyFile: s.keyFile, knownHostsFile: s.knownHostsFile, ...extra },
  vars: { HOME: s.home },
  backoffMs: 10,
});

backendConformance('sftp', async () => {
  const s = await ssh();
  const rel = `conf-${randomBytes(6).toString('hex')}`;
  const backend = openBackend(s.url(rel), opts(s));
  return {
    backend,
    cleanup: () => backend.close(),
    plantJunk: async (p) => {
      await mkdir(path.dirname(path.join(s.home, rel, p)), { recursive: true });
      await writeFile(path.join(s.home, rel, p), 'junk');
    },
  };
});

describe('sftp logins and host keys', () => {
  it('a password login works; a wrong password is refused with a hint and not retried', async () => {
    const s = await ssh();
    const ok = openBackend(s.url('pw'), {
      sftp: { password: s.password, knownHostsFile: s.knownHostsFile },
      vars: { HOME: s.home },
    });
    await ok.create();
    assert.equal(await ok.exists(), false);
    await ok.close();
    const retries: string[] = [];
    const bad = openBackend(s.url('pw'), {
      sftp: { password: 'not-the-password', knownHostsFile: s.knownHostsFile },
      vars: { HOME: s.home },
      onRetry: (op) => retries.push(op),
    });
    after(() => bad.close());
    await assert.rejects(bad.exists(), (e: Error & { kind?: string; hint?: string }) => {
      assert.equal(e.kind, 'io');
      assert.match(e.message, /refused the login/);
      assert.match(e.hint ?? '', /sftp\.password|ssh-agent/);
      assert.doesNotMatch(e.message, /not-the-password/);
      return true;
    });
    assert.deepEqual(retries, []);
  });

  it('an unknown host is refused with its fingerprint and how to add it; a changed key is refused loudly; a fingerprint can stand in', async () => {
    const s = await ssh();
    const empty = path.join(s.home, 'empty_known_hosts');
    await writeFile(empty, '');
    const open = (extra: object) => {
      const b = openBackend(s.url('hk'), opts(s, extra));
      after(() => b.close());
      return b;
    };
    await assert.rejects(open({ knownHostsFile: empty }).exists(), (e: Error & { hint?: string }) => {
      assert.match(
        e.message,
        new RegExp(
          `127\\.0\\.0\\.1:${s.port} is not a known host \\(its key is ${s.hostFingerprint.replace(/[+/]/g, '.')}\\)`,
        ),
      );
      assert.match(e.hint ?? '', /ssh-keyscan -p \d+ 127\.0\.0\.1 >> /);
      return true;
    });
    const other = path.join(s.home, 'other_known_hosts');
    await writeFile(
      other,
      `[127.0.0.1]:${s.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`,
    );
    await assert.rejects(open({ knownHostsFile: other }).exists(), /differs from the one in .*intercepting/);
    assert.equal(await open({ knownHostsFile: empty, hostKey: s.hostFingerprint }).exists(), false);
    await assert.rejects(open({ hostKey: 'SHA256:AAAA' }).exists(), /not the configured SHA256:AAAA/);
  });
});
