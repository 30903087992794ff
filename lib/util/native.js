'use strict'
// The compiled addon, loaded on first use through the loader `napi build` generates.
//
// Most threads never profile, so nothing loads it until a property is read. Where Node
// forbids addons (--no-addons, the permission model without --allow-addons) or the
// process is out of file descriptors, the package must still load and the app run as
// with plain Node: the load error is thrown to whoever needs the addon, with the code
// Node gave it (the generated loader rewraps its failures into code-less errors), and a
// profile reports such a thread as unprofiled (see lib/main/session.js).

const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
// Failures that stay for the life of the thread; any other (EMFILE) is retried next time.
const PERMANENT = new Set(['ERR_DLOPEN_DISABLED', 'ERR_ACCESS_DENIED'])

// The suffix napi-rs gives this platform's package (profiled-worker-<suffix>), the name
// the generated loader looks for.
function platformSuffix() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'win32') return `${base}-msvc`
  if (process.platform !== 'linux') return base
  const report = /** @type {any} */ (process.report?.getReport?.())
  return `${base}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

let binding = null
let permanentFailure = null

function load() {
  if (binding !== null) return binding
  if (permanentFailure !== null) throw permanentFailure
  try {
    binding = require('../../binding.js')
    return binding
  } catch (err) {
    const found = original(err)
    if (found.binding) return (binding = found.binding)
    if (PERMANENT.has(found.error.code)) permanentFailure = found.error
    throw found.error
  }
}

/** The addon, or null where it cannot load (the error then is `tryLoad().error`). */
function tryLoad() {
  try {
    return { binding: load(), error: null }
  } catch (error) {
    return { binding: null, error }
  }
}

// The generated loader's own errors say only "Cannot find native binding" and chain the
// real ones as code-less copies: load this platform's addon files directly to get the
// real error (ERR_DLOPEN_DISABLED, ERR_DLOPEN_FAILED for a broken file, EMFILE, ...).
function original(err) {
  const message = typeof err?.message === 'string' ? err.message : ''
  const fromLoader = err?.code === undefined && /native binding/.test(message)
  if (!fromLoader) return { error: err }
  const prefix = `profiled-worker.${process.platform}-${process.arch}`
  let names
  try {
    names = require('node:fs')
      .readdirSync(ROOT)
      .filter((n) => n.startsWith(prefix) && n.endsWith('.node'))
  } catch (fsErr) {
    return { error: fsErr }
  }
  let first = null
  for (const name of names) {
    try {
      return { binding: require(path.join(ROOT, name)) }
    } catch (e) {
      first ??= e
    }
  }
  // Where npm installed the binary: this platform's package (an optional dependency).
  const pkg = `profiled-worker-${platformSuffix()}`
  try {
    return { binding: require(pkg) }
  } catch (e) {
    if (e?.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes(pkg)) first ??= e
  }
  if (first !== null) return { error: first }
  return { error: require('./errors').notBuilt(ROOT, pkg, err) }
}

// `require('../util/native').CpuProfile` and the like load the addon on that first read.
/** @type {typeof import('../../binding') & { load: typeof load, tryLoad: typeof tryLoad }} */
module.exports = new Proxy(
  { load, tryLoad },
  {
    get(own, key) {
      if (Object.hasOwn(own, key)) return own[key]
      return load()[key]
    },
  },
)
