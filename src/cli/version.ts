/** hoard's version, recorded as program_version in snapshots. Keep in step with package.json. */
export const VERSION = '0.1.0';
