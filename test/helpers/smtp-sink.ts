/**
 * A real SMTP server process for tests (the smtp-server package): listens on 127.0.0.1 on a free
 * port, prints `port N` on stdout, and prints each received message as one JSON line
 * `{from, to, data}`. Run: node smtp-sink.js serve (without `serve` it exits at once, so that a
 * test runner that loads every file does not start a server that never ends).
 */
import { SMTPServer } from 'smtp-server';

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, done) {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => {
      process.stdout.write(
        `${JSON.stringify({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : false, to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(parts).toString('utf8') })}\n`,
      );
      done();
    });
  },
});
if (process.argv[2] === 'serve')
  server.listen(0, '127.0.0.1', () => {
    const a = server.server.address();
    process.stdout.write(`port ${typeof a === 'object' && a ? a.port : 0}\n`);
  });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
