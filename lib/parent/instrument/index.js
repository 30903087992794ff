'use strict'
// Pools with no code change: Piscina, tinypool and workerpool queue a task when no worker
// is free and send it later from their own callbacks, whose async context is nobody's.
// Each integration here makes such a send count for the context that submitted the task
// (see submitted.js), by wrapping the pool's submit method on its class prototype, which
// every reference the app holds shares.
//
// When: every pool creates its workers with worker_threads.Worker, which is ours while
// patched. The first worker a pool library creates names the library — the file that
// called `new Worker` — whatever order the app loaded it and profiled-worker in, and
// whether by require or import. The package is identified by its package.json (name and
// major version), not by the name it was required under, so npm aliases and copies at
// other paths are recognised; a major we do not know is left alone.

const fs = require('node:fs')
const path = require('node:path')
const { fileURLToPath } = require('node:url')
const debug = require('node:util').debuglog('profiled-worker')

const INTEGRATIONS = [require('./piscina'), require('./tinypool'), require('./workerpool')]

// PROFILED_WORKER_POOLS=off leaves every pool as it is (contextQueue / trackQueue still work).
const enabled = process.env.PROFILED_WORKER_POOLS !== 'off'

const OURS = path.resolve(__dirname, '..', '..') + path.sep // this package's lib/
const seenFiles = new Map() // file that created a worker → package root it belongs to, or null
const packages = new Map() // package root → 'done' | 'pending' | 'skipped'

/** The file that called `new Worker` (the first frame outside this package), or null. */
function creatorFile() {
  // Under --frozen-intrinsics no formatter of ours can be set: pools go unrecognised.
  if (Object.isFrozen(Error)) return null
  const { prepareStackTrace, stackTraceLimit } = Error
  const hadFormatter = Object.hasOwn(Error, 'prepareStackTrace')
  try {
    // Our own formatting for one capture: the app's (source maps, custom traces) is
    // neither needed nor run.
    Error.prepareStackTrace = (_, callSites) => callSites
    Error.stackTraceLimit = 12
    const holder = {}
    Error.captureStackTrace(holder)
    const callSites = holder.stack
    if (!Array.isArray(callSites)) return null
    for (const site of callSites) {
      const file = site.getFileName()
      if (typeof file !== 'string' || file.startsWith('node:')) continue
      const p = file.startsWith('file:') ? fileURLToPath(file) : file
      if (!path.isAbsolute(p) || p.startsWith(OURS)) continue
      return p
    }
    return null
  } catch {
    return null
  } finally {
    if (hadFormatter) Error.prepareStackTrace = prepareStackTrace
    else delete Error.prepareStackTrace
    Error.stackTraceLimit = stackTraceLimit
  }
}

/** The nearest package.json above `file` that has a name: { root, name, version }, or null. */
function packageOf(file) {
  let dir = path.dirname(file)
  for (let depth = 0; depth < 8; depth++) {
    let meta = null
    try {
      meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    } catch {
      // none here (or unreadable): look further up
    }
    if (meta !== null && typeof meta === 'object' && typeof meta.name === 'string') {
      return { root: dir, name: meta.name, version: String(meta.version ?? '') }
    }
    const up = path.dirname(dir)
    if (up === dir || path.basename(dir) === 'node_modules') return null
    dir = up
  }
  return null
}

function instrumentPackage(pkg) {
  const integration = INTEGRATIONS.find((i) => i.name === pkg.name)
  const major = Number(pkg.version.split('.')[0])
  if (integration === undefined || !integration.majors.includes(major)) {
    packages.set(pkg.root, 'skipped')
    if (integration !== undefined) debug(`pools: ${pkg.name}@${pkg.version} not known, left alone`)
    return
  }
  const settle = (ok) => {
    packages.set(pkg.root, ok ? 'done' : 'skipped')
    if (!ok) debug(`pools: ${pkg.name}@${pkg.version} at ${pkg.root} has an unexpected shape`)
  }
  try {
    const result = integration.instrument(pkg.root)
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      packages.set(pkg.root, 'pending')
      result.then(settle, (err) => {
        debug(`pools: ${pkg.name}: ${err?.message}`)
        settle(false)
      })
    } else {
      settle(result === true)
    }
  } catch (err) {
    debug(`pools: ${pkg.name}: ${err?.message}`)
    settle(false)
  }
}

/** Called by every ProfiledWorker as it is created. Never throws. */
function workerCreated() {
  if (!enabled) return
  const file = creatorFile()
  if (file === null) return
  let root = seenFiles.get(file)
  if (root === undefined) {
    const pkg = packageOf(file)
    root = pkg === null ? null : pkg.root
    seenFiles.set(file, root)
    if (pkg !== null && !packages.has(pkg.root)) instrumentPackage(pkg)
  }
}

/** For tests and NODE_DEBUG: the state of each package seen. */
function instrumented() {
  return Object.fromEntries(packages)
}

module.exports = { workerCreated, instrumented }
