/**
 * The service files `hoard scheduler install-service` writes: a systemd unit and a launchd plist.
 * Every value (the project's path, the program's path, password variables) is escaped for the
 * format it goes into, so that systemd and launchd read back exactly the value given; a value
 * these formats cannot carry (a control character such as a newline) is refused, kind "usage".
 */
import { HoardError } from '../../core/index.js';

export interface ServiceSpec {
  /** A name of letters, digits, `.`, `_` and `-` (the unit's and the plist's name). */
  name: string;
  /** The project folder (absolute). */
  dir: string;
  /** The program and its arguments. */
  argv: string[];
  /** Variables the service gets. */
  env: [name: string, value: string][];
  /** The log file (launchd's stdout and stderr). */
  log: string;
}

/** Throws kind "usage" when `value` holds a control character (newline, tab, escape, DEL …). */
function refuseControl(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(value);
  if (bad) {
    throw new HoardError(
      'usage',
      `cannot write the service file: ${what} ${JSON.stringify(value)} holds a control character (U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}), which a service file cannot carry`,
      {
        hint: 'use a folder or value without newlines and other control characters, or write the service file by hand',
      },
    );
  }
  return value;
}

/** `%` starts a systemd specifier in every setting used here: written %%. */
const specifiers = (s: string) => s.replace(/%/g, '%%');

/** One word of a systemd command line: quoted, C-escaped, specifiers and `$` variables escaped. */
function systemdWord(value: string, what: string): string {
  return `"${specifiers(refuseControl(value, what).replace(/[\\"]/g, '\\$&').replace(/\$/g, '$$$$'))}"`;
}

/** One Environment= assignment: quoted and C-escaped (systemd does not expand `$` there). */
function systemdAssignment(name: string, value: string): string {
  return `"${specifiers(`${name}=${refuseControl(value, name)}`.replace(/[\\"]/g, '\\$&'))}"`;
}

/**
 * A path setting (WorkingDirectory=) is taken as written, quotes included, after specifiers: only
 * `%` is escaped. systemd trims white space around it and reads a final `\` as a continuation.
 */
function systemdPath(value: string, what: string): string {
  if (/^\s|\s$|\\$/.test(refuseControl(value, what))) {
    throw new HoardError(
      'usage',
      `cannot write the systemd unit: ${what} ${JSON.stringify(value)} begins or ends with white space or ends with \\, which systemd would change`,
      { hint: 'rename the folder, or write the unit by hand' },
    );
  }
  return specifiers(value);
}

/** The systemd user unit that runs the scheduler. */
export function systemdUnit(s: ServiceSpec): string {
  return [
    '[Unit]',
    `Description=hoard scheduler (${s.name})`,
    'After=network-online.target postgresql.service mariadb.service',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${systemdPath(s.dir, 'the project folder')}`,
    `ExecStart=${s.argv.map((a) => systemdWord(a, 'the command word')).join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=15min',
    'Restart=on-failure',
    ...s.env.map(([k, v]) => `Environment=${systemdAssignment(k, v)}`),
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

/** Text for an XML element or attribute: the five special characters as entities. */
function xml(value: string, what: string): string {
  const map: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
  return refuseControl(value, what).replace(/[&<>"']/g, (c) => map[c]);
}

/** The launchd agent plist that runs the scheduler. */
export function launchdPlist(s: ServiceSpec): string {
  const str = (v: string, what: string) => `<string>${xml(v, what)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0"><dict>',
    `  <key>Label</key>${str(`dev.hoard.${s.name}`, 'the label')}`,
    `  <key>ProgramArguments</key><array>${s.argv.map((a) => str(a, 'the command word')).join('')}</array>`,
    `  <key>WorkingDirectory</key>${str(s.dir, 'the project folder')}`,
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><true/>',
    `  <key>StandardOutPath</key>${str(s.log, 'the log file')}`,
    `  <key>StandardErrorPath</key>${str(s.log, 'the log file')}`,
    ...(s.env.length
      ? [
          `  <key>EnvironmentVariables</key><dict>${s.env.map(([k, v]) => `<key>${xml(k, 'the variable')}</key>${str(v, k)}`).join('')}</dict>`,
        ]
      : []),
    '</dict></plist>',
    '',
  ].join('\n');
}
