/** Says once per test run, not once per file, that the PostgreSQL suites are skipped, and why. */
import { POSTGRES_SKIP_LINE, TEST_DATABASE_URL } from './helpers.js';

export default function setup(): void {
  if (!TEST_DATABASE_URL) console.warn(POSTGRES_SKIP_LINE);
}
