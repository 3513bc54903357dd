import { defineConfig } from 'vitest/config';

// `npm run test:unit`: the fast loop for someone changing a detector, a rule or the relay. Only
// tests that need nothing but Node, the project's native modules and loopback sockets (no Postfix,
// PostgreSQL, Chromium, LibreOffice or Debian mail corpora); under a minute on a 2-core machine.
// `npm test` runs everything, these included.
export const UNIT_TESTS = [
  'test/check-cli.test.ts',
  'test/config-schema.test.ts',
  'test/console-units.test.ts',
  'test/decide.test.ts',
  'test/detect-stretches.test.ts',
  'test/detectors-as-data.test.ts',
  'test/detectors-checksums.test.ts',
  'test/detectors-scan.test.ts',
  'test/detectors.test.ts',
  'test/example-config.test.ts',
  'test/imports.test.ts',
  'test/inspect-units.test.ts',
  'test/metrics.test.ts',
  'test/relay-access.test.ts',
  'test/relay-cli.test.ts',
  'test/relay-faults.test.ts',
  'test/relay-roundtrip.test.ts',
  'test/relay-shutdown.test.ts',
  'test/relay-smuggling.test.ts',
  'test/roster-import.test.ts',
  'test/roster-names.test.ts',
  'test/roster-reload.test.ts',
  'test/tenants.test.ts',
  'test/word-pass.test.ts',
];

export default defineConfig({
  test: {
    include: UNIT_TESTS,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
