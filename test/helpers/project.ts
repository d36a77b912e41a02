/** Settings for CLI runs in a temporary project, isolated from the test runner's environment. */

/** Variables that would leak the test runner's settings into the project (empty counts as unset). */
export const CLEAN_ENV: NodeJS.ProcessEnv = {
  HOARD_REPOSITORY: '',
  RESTIC_REPOSITORY: '',
  HOARD_PASSWORD: '',
  HOARD_PASSWORD_FILE: '',
  HOARD_PASSWORD_COMMAND: '',
  RESTIC_PASSWORD: '',
  RESTIC_PASSWORD_FILE: '',
  RESTIC_PASSWORD_COMMAND: '',
  HOARD_ENVIRONMENT: '',
  HOARD_CONFIG: '',
  DATABASE_URL: '',
  HOARD_TEST_PG_URL: '',
  HOARD_TEST_MYSQL_URL: '',
  CI: '',
};
