/**
 * An SSH server for tests whose SFTP is OpenSSH's own sftp-server (Debian's openssh-sftp-server):
 * ssh2's server does the SSH transport and authentication (one public key and one password), and
 * each sftp subsystem request runs /usr/lib/openssh/sftp-server with the channel as its stdin and
 * stdout. Listens on 127.0.0.1 on a free port and prints `port N`.
 * Run: node ssh-server.js serve HOSTKEY_FILE AUTHORIZED_PUBKEY_FILE PASSWORD HOME (without `serve` it
 * exits at once, so that a test runner that loads every file does not start a server that never ends).
 * With HOARD_TEST_SSH_DROPS=K and HOARD_TEST_SSH_DROP_AFTER_BYTES=N, the first K connections are cut
 * once N bytes of SFTP requests went through them (a connection dropped mid-upload).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

if (process.argv[2] === 'serve') {
  const [hostKeyFile, pubFile, password, home] = process.argv.slice(3);
  const allowed = ssh2.utils.parseKey(readFileSync(pubFile));
  if (allowed instanceof Error) throw allowed;
  const dropAfter = Number(process.env.HOARD_TEST_SSH_DROP_AFTER_BYTES) || 0;
  let dropsLeft = Number(process.env.HOARD_TEST_SSH_DROPS) || 0;
  const server = new ssh2.Server({ hostKeys: [readFileSync(hostKeyFile)] }, (client) => {
    client.on('authentication', (ctx) => {
      if (
        ctx.method === 'password' &&
        ctx.password.length === password.length &&
        timingSafeEqual(Buffer.from(ctx.password), Buffer.from(password))
      )
        return ctx.accept();
      if (ctx.method === 'publickey' && ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept(); // the client asks whether this key would do
        if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return ctx.accept();
      }
      ctx.reject(['publickey', 'password']);
    });
    client.on('ready', () =>
      client.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acceptSub, reject, info) => {
          if (info.name !== 'sftp') return reject();
          const ch = acceptSub();
          const child = spawn(SFTP_SERVER, ['-e'], {
            cwd: home,
            env: { HOME: home, PATH: process.env.PATH },
            stdio: ['pipe', 'pipe', 'ignore'],
          });
          child.stdin.on('error', () => {}); // sftp-server gone (a cut connection): ignore late writes
          let seen = 0;
          let cut = false;
          ch.on('data', (d: Buffer) => {
            seen += d.length;
            if (!cut && dropsLeft > 0 && seen > dropAfter) {
              cut = true;
              dropsLeft--;
              process.stdout.write('dropped\n');
              client.end();
              child.kill();
            }
            if (cut) return;
            child.stdin.write(d);
          });
          child.stdout.pipe(ch);
          child.on('exit', (code) => {
            try {
              ch.exit(code ?? 0);
              ch.end();
            } catch {
              /* closed */
            }
          });
          ch.on('close', () => {
            if (process.env.HOARD_TEST_SSH_DEBUG) process.stdout.write(`closed after ${seen}\n`);
            child.kill();
          });
        });
      }),
    );
    client.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
  // the test that started it holds our stdin: when it goes away (even killed), so do we
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
