'use strict'
// Every test file loads this hook (helpers.js does, for the files that use it): a promise
// rejection left unhandled anywhere in the file fails it, whichever test was running (or
// none). Only in a test file's own process and thread: fixtures, workers and bench scripts
// load the helpers too.
if (
  require('node:worker_threads').isMainThread &&
  /\.test\.js$/.test(require.main?.filename ?? '')
) {
  const unhandled = []
  process.on('unhandledRejection', (reason) => unhandled.push(reason))
  require('node:test').after(async () => {
    await new Promise((resolve) => setImmediate(resolve))
    require('node:assert/strict').deepEqual(
      unhandled.map((r) => (r instanceof Error ? r.stack : String(r))),
      [],
      'no unhandled promise rejection',
    )
  })
}
