'use strict'
// Loads the compiled addon through the loader `napi build` generates, and turns "not
// built yet" into an error that says which command fixes it.

const path = require('node:path')

function load() {
  try {
    return require('../../binding.js')
  } catch (cause) {
    const root = path.resolve(__dirname, '..', '..')
    const err = new Error(
      'profiled-worker: the native addon is not built for ' +
        `${process.platform}-${process.arch} (looked in ${root}). ` +
        `Build it with \`npm run build\` in ${root} (needs Rust and Cargo).`,
      { cause },
    )
    err.code = 'ERR_PROFILED_WORKER_NOT_BUILT'
    throw err
  }
}

module.exports = load()
