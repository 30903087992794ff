'use strict'
// The per-thread routing point. Profile data flows upward: a worker's chunks, effects,
// errors and exits go to its parent, intermediate workers relay them unchanged, and the
// main thread hands them to the profile sessions they name.

const { AsyncLocalStorage } = require('node:async_hooks')
const wt = require('node:worker_threads')
const { MSG, MAIN_THREAD_NAME, build } = require('../protocol')
const { ThreadSampler } = require('./sampler')

/**
 * A thread's hub. The main thread's is this module's export: the app that requires the
 * package is trusted there. A worker's is made by its runtime (worker/index.js), kept in
 * the runtime's closure and given only to what needs it, so that user code requiring this
 * file (by name or by path) gets no live state.
 */
function createHub() {
  // Main thread: which profiles the current async context belongs to (an array of sessions).
  const context = new AsyncLocalStorage()

  const hub = {
    // Set by the worker runtime in a profiled worker: posts a message to the parent.
    upstream: null,
    threadName: wt.isMainThread ? MAIN_THREAD_NAME : '',
    // Main thread: every session not yet finished, by id. Worker: the active local sessions.
    sessions: new Map(),
    context,
    // Worker: which profiles the running code works for (worker/tasks.js).
    tasks: null,
    sampler: new ThreadSampler(
      (json, ids, spans) => hub.deliver(build.chunk(wt.threadId, hub.threadName, ids, json, spans)),
      { cutOnJoin: !wt.isMainThread, linger: wt.isMainThread },
    ),
    /**
     * In a profiled worker, once, when its runtime loads the profiling machinery: data goes
     * to the parent through `upstream`; `tasks` (worker/tasks.js) says which profiles the
     * running code works for and gives each chunk its spans; `exclusive` runs the sampler's
     * own cuts as one of the runtime's operations, which the parent's interrupt must not
     * re-enter.
     * @param {{ threadName: string, upstream: (msg: object) => void, tasks: any,
     *   exclusive: <T>(fn: () => T) => T }} worker
     */
    setupWorker({ threadName, upstream, tasks, exclusive }) {
      hub.threadName = threadName
      hub.upstream = upstream
      hub.tasks = tasks
      hub.sampler.tracker = tasks
      hub.sampler.exclusive = exclusive
    },

    /** The sessions that work started now belongs to. */
    currentSessions() {
      // A worker's runtime sets `tasks` with its first profile; until then, none.
      if (!wt.isMainThread) return hub.tasks?.sessionsNow(hub.sessions) ?? []
      const store = context.getStore()
      return store ? store.filter((s) => s.state === 'active') : []
    },

    /** Profile data from this thread or a descendant. */
    deliver(msg) {
      if (hub.upstream) {
        hub.upstream(msg)
        return
      }
      const each = (ids, fn) => {
        for (const id of ids) {
          const s = hub.sessions.get(id)
          if (s) fn(s)
        }
      }
      switch (msg.t) {
        case MSG.CHUNK: {
          if (!msg.ids.some((id) => hub.sessions.has(id))) break
          const chunk = parseChunk(msg.json)
          each(msg.ids, (s) => s.addChunk(msg.threadId, msg.threadName, chunk, msg.spans?.[s.id]))
          break
        }
        case MSG.EFFECTS:
          each([msg.id], (s) => s.setEffects(msg.threadId, msg.threadName, msg.effects))
          break
        case MSG.ERROR:
          each(msg.ids, (s) => s.addError(msg.threadId, msg.threadName, msg.error))
          break
        case MSG.EXIT:
          each(msg.ids, (s) => s.markExit(msg.threadId, msg.threadName, msg.code))
          break
        case MSG.UNPROFILED:
          each(msg.ids, (s) => s.markUnprofiled(msg.threadId, msg.threadName, msg.error))
          break
      }
    },
  }
  return hub
}

/**
 * A chunk is parsed off the JS thread as soon as it arrives (once, for every profile it
 * belongs to), so that a stop only hands references to the native side: handing over a
 * long profile's chunks as text cost the main thread ~0.15 ms per second profiled, all
 * at once at its stop. Resolves with a CpuProfile; a chunk that does not parse is left
 * out of the reports that use it when they are assembled, and counted (session.js).
 */
function parseChunk(json) {
  /** @type {Promise<import('../../binding').CpuProfile> & { json?: string | null, value?: import('../../binding').CpuProfile }} */
  const parsed = require('../util/native').CpuProfile.parseAsync(json)
  // Until it is parsed, the text stays with it: a stop at process exit assembles
  // synchronously (session.js stopNow) and parses what has not been parsed yet itself.
  parsed.json = json
  parsed.then(
    (p) => {
      parsed.value = p
      parsed.json = null
    },
    () => {},
  )
  return parsed
}

// In a worker user code that requires this file gets the view (worker-view.js) and a
// factory, not the runtime's hub.
module.exports = Object.assign(wt.isMainThread ? createHub() : require('./worker-view'), {
  createHub,
})
