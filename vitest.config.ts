import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The database fault suite kills a private MariaDB: it belongs to the MySQL pass only.
    exclude: process.env.FABRIC_TEST_DB === 'mysql' ? [] : ['test/db-faults.test.ts'],
    testTimeout: 30000,
    hookTimeout: 60000,
    // Suites start real servers on port 0 and share one database per run: run files one at a time.
    fileParallelism: false,
  },
});
