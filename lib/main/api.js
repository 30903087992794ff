'use strict'
// The main-thread profiling API. A profile belongs to an async context: everything that
// flows from where it started, through async continuations, works for it.

const { AsyncResource, executionAsyncId } = require('node:async_hooks')
const wt = require('node:worker_threads')
const hub = require('../thread/hub')
const errors = require('../util/errors')
const { DEFAULTS, kLink, isIntervalUs, isStopTimeoutMs } = require('../protocol')
const { ProfileSession } = require('./session')
const mainThread = require('./main-thread')
const { serialize } = require('../util/json')

const OPTION_NAMES = ['name', 'samplingIntervalUs', 'mainThread', 'stopTimeoutMs']

function parseOptions(where, options) {
  if (options === undefined) return { name: '', ...DEFAULTS }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw errors.invalidArgType(`${where}: options`, 'an object', options)
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) throw errors.unknownOption(where, key, OPTION_NAMES)
  }
  const o = { name: '', ...DEFAULTS }
  for (const [key, value] of Object.entries(options)) if (value !== undefined) o[key] = value
  if (typeof o.name !== 'string')
    throw errors.invalidArgType(`${where}: options.name`, 'a string', o.name)
  if (typeof o.samplingIntervalUs !== 'number') {
    throw errors.invalidArgType(
      `${where}: options.samplingIntervalUs`,
      'a number of µs',
      o.samplingIntervalUs,
    )
  }
  if (!isIntervalUs(o.samplingIntervalUs)) {
    throw errors.outOfRange(
      `${where}: options.samplingIntervalUs`,
      'an integer from 1 to 1000000 (µs)',
      o.samplingIntervalUs,
    )
  }
  if (typeof o.mainThread !== 'boolean' && o.mainThread !== 'whole') {
    throw errors.invalidArgType(
      `${where}: options.mainThread`,
      "a boolean or 'whole'",
      o.mainThread,
    )
  }
  if (typeof o.stopTimeoutMs !== 'number') {
    throw errors.invalidArgType(
      `${where}: options.stopTimeoutMs`,
      'a number of ms',
      o.stopTimeoutMs,
    )
  }
  if (!isStopTimeoutMs(o.stopTimeoutMs)) {
    throw errors.outOfRange(
      `${where}: options.stopTimeoutMs`,
      'a number of ms in (0, 600000]',
      o.stopTimeoutMs,
    )
  }
  return o
}

function requireMainThread(where) {
  if (!wt.isMainThread) {
    throw errors.mainThreadOnly(where)
  }
}

/** Public view of a running profile. */
class ActiveProfile {
  #session
  constructor(session) {
    this.#session = session
  }
  /** The async id of the context that started the profile. */
  get id() {
    return this.#session.asyncId
  }
  get name() {
    return this.#session.name
  }
  get startNs() {
    return this.#session.startNs
  }
  get state() {
    return this.#session.state
  }
  /** For the CLI at process exit: stop synchronously (see ProfileSession.stopNow). */
  stopNow(budgetMs) {
    requireMainThread('stopNow()')
    return this.#session.stopNow(budgetMs)
  }
  /** Stop the profile; resolves with its ProfileReport. Calling it again returns the same promise. */
  stop() {
    // In a worker, currentProfiles() lists the main thread's profiles, which only the main
    // thread can stop: say so, rather than fail on a session that is not here.
    requireMainThread('stop()')
    return this.#session.stop()
  }
}

function begin(id, options) {
  for (const s of hub.sessions.values())
    if (s.asyncId === id && s.state === 'active') throw errors.alreadyProfiling(id)
  const session = new ProfileSession(id, options.name, options)
  return { session, store: [...(hub.context.getStore() ?? []), session] }
}

/**
 * Start a profile bound to the current async context: this function's continuations,
 * and workers started or sent messages from them, belong to it.
 */
function startProfile(options) {
  requireMainThread('startProfile()')
  const o = parseOptions('startProfile()', options)
  const { session, store } = begin(executionAsyncId(), o)
  hub.context.enterWith(store)
  mainThread.entered(store)
  return new ActiveProfile(session)
}

/**
 * Run `fn` in a new async context with its own profile. Resolves with
 * `{ result, report }`; if `fn` throws, the profile is stopped and the error rethrown
 * with the report attached as `error.profileReport`.
 */
async function runProfile(fn, options) {
  requireMainThread('runProfile()')
  if (typeof fn !== 'function')
    throw errors.invalidArgType('runProfile(fn, options): fn', 'a function', fn)
  const o = parseOptions('runProfile()', options)
  const resource = new AsyncResource('profiled-worker.profile')
  const { session, store } = begin(resource.asyncId(), o)
  let result
  try {
    result = await resource.runInAsyncScope(() => mainThread.run(store, fn))
  } catch (err) {
    const report = await session.stop()
    if (err !== null && typeof err === 'object') {
      Object.defineProperty(err, 'profileReport', { value: report, configurable: true })
    }
    throw err
  } finally {
    resource.emitDestroy()
  }
  return { result, report: await session.stop() }
}

/**
 * For the CLI: profiles of the whole app. Every profile `start()`s covers
 * - every async context descending from the caller's, also when started later from a
 *   timer or a signal handler (which alone would reach only its own continuations): the
 *   scope is one store array, shared by reference as AsyncLocalStorage propagates it,
 *   and profiles are added to it in place. Contexts that start a profile of their own copy
 *   the store (see begin) and do not see profiles the scope starts after that;
 * - every live worker this thread created, also one created before the profile that
 *   nobody sends messages to (process 'worker' events list them).
 */
function processScope() {
  requireMainThread('processScope()')
  const store = [...(hub.context.getStore() ?? [])]
  hub.context.enterWith(store)
  const workers = new Set()
  const live = (w) => w[kLink] !== undefined && !w[kLink].closed // none on a plain Worker
  let pruneAt = 64
  process.on('worker', (w) => {
    // Emitted inside the Worker constructor, before ProfiledWorker has set its link.
    // Exited workers go from time to time, so an app that makes many keeps the set small.
    if (workers.size >= pruneAt) {
      for (const x of workers) if (!live(x)) workers.delete(x)
      pruneAt = Math.max(64, 2 * workers.size)
    }
    workers.add(w)
    // A worker made from a context that copied the store before the scope's current
    // profile started (a request's context) would join it only at the next start: it
    // joins now, once its link exists.
    queueMicrotask(() => {
      if (!live(w)) return
      const open = store.filter((s) => s.scoped && s.state === 'active')
      if (open.length > 0) w[kLink].startFor(open, true)
    })
  })
  return {
    start(options) {
      const o = parseOptions('processScope().start()', options)
      // Stopped profiles are dropped here, so a long run of windows keeps the store short.
      for (let i = store.length - 1; i >= 0; i--)
        if (store[i].state !== 'active') store.splice(i, 1)
      // Its own async id: every window is a profile with a distinct id.
      const resource = new AsyncResource('profiled-worker.scope')
      const session = new ProfileSession(resource.asyncId(), o.name, o)
      session.scoped = true // it owns every worker of the scope
      resource.emitDestroy()
      store.push(session)
      for (const w of workers) {
        // The window owns the whole worker, not only the tasks sent from it.
        if (live(w)) w[kLink].startFor([session], true)
        else workers.delete(w)
      }
      return new ActiveProfile(session)
    },
  }
}

/** Profiles started and not yet stopped, across all contexts. */
function activeProfiles() {
  return [...hub.sessions.values()]
    .filter((s) => s.state === 'active')
    .map((s) => new ActiveProfile(s))
}

/** Profiles the current async context belongs to. */
function currentProfiles() {
  return hub.currentSessions().map((s) => new ActiveProfile(s))
}

/**
 * Record a named effect for the profiles the current code works for (on the main
 * thread: the current context's profiles that include the main thread; in a worker: the
 * worker's active profiles).
 * `data` must be serializable by serialize() (BigInts allowed). Returns how many
 * profiles recorded it.
 */
function recordEffect(name, data) {
  if (typeof name !== 'string' || name === '')
    throw errors.invalidArgType('recordEffect(name, data): name', 'a non-empty string', name)
  const text = serialize(data ?? null)
  // Main-thread effects are reported in thread 0's effects, which a `mainThread: false`
  // profile has no entry for: recording there would count an effect that is then lost.
  const sessions = hub.currentSessions().filter((s) => !wt.isMainThread || s.mainThread)
  for (const s of sessions) s.custom.push({ name, data: text, atNs: process.hrtime.bigint() })
  return sessions.length
}

module.exports = {
  startProfile,
  runProfile,
  activeProfiles,
  currentProfiles,
  recordEffect,
  parseOptions,
  processScope,
}
