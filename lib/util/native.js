'use strict'
// Loads the compiled addon through the loader `napi build` generates, and turns "not
// found" into an error that says what provides it: the platform package npm installs as
// an optional dependency, or a build from source in a clone.

const path = require('node:path')

// The suffix napi-rs gives this platform's package (profiled-worker-<suffix>), the name
// the generated loader looks for.
function platformSuffix() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'win32') return `${base}-msvc`
  if (process.platform !== 'linux') return base
  const report = process.report?.getReport?.()
  return `${base}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

function load() {
  try {
    return require('../../binding.js')
  } catch (cause) {
    const root = path.resolve(__dirname, '..', '..')
    const pkg = `profiled-worker-${platformSuffix()}`
    const err = new Error(
      'profiled-worker: the native addon is not built for ' +
        `${process.platform}-${process.arch} (looked in ${root} and for the package ${pkg}). ` +
        `npm installs ${pkg} as an optional dependency where it is published: reinstall ` +
        'without --omit=optional (or --no-optional). ' +
        `From a clone: Build it with \`npm run build\` in ${root} (needs Rust and Cargo).`,
      { cause },
    )
    err.code = 'ERR_PROFILED_WORKER_NOT_BUILT'
    throw err
  }
}

module.exports = load()
