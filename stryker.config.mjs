// Stryker (mutation testing) over lib/'s pure modules, run by `npm run mutants` (see
// docs/mutation-testing.md). The command runner runs the fast unit tests once per mutant,
// so only modules those tests cover belong here.

/** The modules mutated: edit this list when a module moves or a pure one is added. */
const MUTATE = [
  'lib/worker/tasks.js',
  'lib/thread/sampler/chunk.js',
  'lib/parent/channels.js',
  'lib/cli/args.js',
  'lib/util/json.js',
  'lib/protocol.js',
]

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: MUTATE,
  testRunner: 'command',
  // One process for all the unit test files (scripts/unit-tests.js): a process per file
  // costs more than the tests.
  commandRunner: { command: 'node scripts/unit-tests.js' },
  // The machine is shared: one mutant at a time.
  concurrency: 1,
  timeoutMS: 3000,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The sandbox needs lib/, __test__/, the addon and package.json; not the Rust build.
  ignorePatterns: [
    '/target',
    '/src',
    '/bench',
    '/examples',
    '/docs',
    '/profiles',
    '/scratch',
    '/.node-matrix',
    '/mutants.out*',
  ],
  cleanTempDir: 'always',
}
