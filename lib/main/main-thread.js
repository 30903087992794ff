'use strict'
// The main thread, split by profile: which split profiles (`mainThread: true`, the
// default) the code running now works for, and the times that changed, so that each
// profile keeps only the main-thread samples taken while code of its async context ran.
//
// A profile's context is hub.context, an AsyncLocalStorage whose store is the array of
// sessions the running code belongs to; Node carries it into every continuation
// (promises, timers, I/O callbacks). Each change of the running callback is marked in a
// TaskTracker (worker/tasks.js), the bookkeeping workers use: the tracker turns the marks
// into per-profile spans, CPU time and wall time, and the sampler gives each chunk its
// spans, which the Rust core cuts the main thread's samples to. V8's sampler cannot tell
// us a sample's context (it records stacks, not embedder data), so the context is known
// by time: hooks report each callback's start and end while a split profile is active,
// and nothing is hooked otherwise.
//
// Which hooks, by Node version (measured on an `await` loop: see README, How it works):
// - where AsyncLocalStorage keeps its store in V8's continuation-preserved embedder data
//   (AsyncContextFrame, Node ≥ 24) and async_hooks can leave promises out
//   (`trackPromises: false`): an async hook for callbacks (timers, I/O, immediates,
//   ticks) and V8's own promise hooks for promise continuations. The store is right in
//   both (V8 switches the embedder data before its promise hook runs), and no promise
//   gets an async id: Node's promise tracking would cost about twice as much per await.
// - elsewhere (Node 18–22): one async hook with before/after, promises included. There
//   the AsyncLocalStorage itself already has Node track every promise (its init hook),
//   so ours only adds the two calls.

const {
  AsyncLocalStorage,
  AsyncResource,
  createHook,
  executionAsyncId,
  executionAsyncResource,
} = require('node:async_hooks')
const { TaskTracker, ROOT } = require('../worker/tasks')
// The tracker's clock, so that the times marked here and there compare.
const { fastNowUs: nowUs } = require('../util/clock')
const hub = require('../thread/hub')

let native = null
const cpuNs = () => Number((native ??= require('../util/native')).threadCpuTime())

// An AsyncLocalStorage built on async_hooks has this; the AsyncContextFrame one not.
const FRAMES = typeof (/** @type {any} */ (AsyncLocalStorage.prototype)._enable) !== 'function'

/** Whether promise continuations can be hooked without async ids (see the top). */
function promisesByV8() {
  if (!FRAMES) return false
  try {
    // Where the option exists, it refuses to leave promises out of a promiseResolve hook.
    createHook(/** @type {any} */ ({ promiseResolve() {}, trackPromises: false }))
    return false
  } catch {
    return true
  }
}

// On AsyncContextFrame, AsyncResource.runInAsyncScope() (behind AsyncResource.bind,
// AsyncLocalStorage.snapshot, queueMicrotask, EventEmitterAsyncResource) runs `before`
// before it enters the frame the resource keeps, so there the store is read from that
// frame: a Map of each AsyncLocalStorage's store, which Node keeps on the resource under
// a symbol of its own, found on a probe resource. Null where not needed or not found:
// then the store is read as it is.
let kFrame = null
function findFrameSymbol() {
  if (!FRAMES) return null
  const probe = new AsyncResource('profiled-worker.probe', { requireManualDestroy: true })
  probe.emitDestroy()
  return Object.getOwnPropertySymbols(probe).find((s) => s.description === 'context_frame') ?? null
}

/** The hub's store of the callback that is starting (see kFrame). */
function storeNow() {
  if (kFrame !== null) {
    const r = executionAsyncResource()
    if (r instanceof AsyncResource) {
      const frame = r[kFrame]
      return typeof frame?.get === 'function' ? frame.get(hub.context) : undefined
    }
  }
  return hub.context.getStore()
}

let tracker = null // created with the first split profile
let hooks = null // { enable(), disable() }
let active = false
// What ran outside each callback we are in. Empty between callbacks, where no code of
// any context runs (the event loop), so a callback entered from there returns to ROOT.
const stack = []
const contexts = new WeakMap() // store → { n, last, context }

/** The tracker context of an AsyncLocalStorage store (an array of sessions). */
function contextOf(store) {
  if (store === undefined || store.length === 0) return ROOT
  // A store is immutable except the CLI scope's (api.js processScope), which grows and
  // drops stopped profiles in place: its length and last entry say when it changed.
  const last = store[store.length - 1]
  let c = contexts.get(store)
  if (c === undefined || c.n !== store.length || c.last !== last) {
    c = { n: store.length, last, context: { ids: store.map((s) => s.id) } }
    contexts.set(store, c)
  }
  return c.context
}

// The end of a top-level callback, not marked yet: most callbacks of a context are
// followed at once by another of the same context (its microtasks, the next callback of
// a request), and the tracker joins two pieces of a context that are less than its
// resolution apart anyway. So the end is marked only when the next callback turns out
// to be another context's or to start later than that: the same spans and times, for
// far fewer marks. endUs < 0: none pending.
let endUs = -1
let endCpuNs = NaN

// Hooks never throw: an exception there is fatal to the process.
function before() {
  // Node runs every pending `after` on an uncaught exception; this bounds the stack
  // should that ever not happen.
  if (stack.length > 20_000) stack.length = 0
  let c = ROOT
  try {
    c = contextOf(storeNow())
  } catch {
    // ROOT
  }
  if (endUs >= 0) {
    const t = endUs
    endUs = -1
    if (c === tracker.current && nowUs() - t <= tracker.resolutionUs) {
      stack.push(ROOT) // the context goes on as if it had never stopped
      return
    }
    tracker.switchTo(ROOT, t, endCpuNs)
  }
  stack.push(stack.length === 0 ? ROOT : tracker.current)
  tracker.switchTo(c)
}

function after() {
  const outer = stack.length > 0 ? stack.pop() : ROOT
  if (stack.length > 0 || outer !== ROOT || tracker.current === ROOT) {
    tracker.switchTo(outer)
    return
  }
  // The CPU clock is read as often as the tracker reads it (a system call).
  const t = nowUs()
  if (t - cpuReadUs >= tracker.resolutionUs) {
    cpuReadUs = t
    endCpuNs = cpuNs()
  } else {
    endCpuNs = NaN
  }
  endUs = t
}
let cpuReadUs = 0

/** Marks the pending end of a callback now, before anything else reads the tracker. */
function settle() {
  if (endUs < 0) return
  const t = endUs
  endUs = -1
  tracker.switchTo(ROOT, t, endCpuNs)
}

function makeHooks() {
  if (!promisesByV8()) return createHook({ before, after })
  // trackPromises (Node ≥ 24) is not in the @types/node this package builds with.
  const callbacks = createHook(/** @type {any} */ ({ before, after, trackPromises: false }))
  const { promiseHooks } = require('node:v8')
  let stops = []
  return {
    enable() {
      callbacks.enable()
      stops = [promiseHooks.onBefore(before), promiseHooks.onAfter(after)]
    },
    disable() {
      callbacks.disable()
      for (const stop of stops) stop()
      stops = []
    },
  }
}

/** A split profile starts on the main thread (called as its window starts). */
function join(session) {
  if (tracker === null) {
    tracker = new TaskTracker(cpuNs, { hook: false })
    hub.sampler.tracker = tracker // each chunk takes the members' spans with it
    hooks = makeHooks()
    kFrame = findFrameSymbol()
  }
  if (!active) {
    endUs = -1
    tracker.switchTo(contextOf(hub.context.getStore()))
    stack.length = 0
    // Started inside a callback, whose end the hooks will see: what runs after it is
    // the event loop's. (At the top level of the main script no `after` comes.)
    if (executionAsyncId() > 1) stack.push(ROOT)
    hooks.enable()
    active = true
  }
  tracker.join(session.id, false, session.intervalUs)
}

/**
 * A split profile ends: its CPU time (ns) and wall time (µs) on this thread. Call it right
 * after the sampler's last cut for it, which took its last spans.
 */
function leave(session) {
  if (tracker !== null) settle()
  const usage = tracker?.leave(session.id) ?? null
  if (active && !tracker.recording) {
    hooks.disable()
    active = false
    stack.length = 0
    endUs = -1
  }
  return usage
}

/** The running code just entered `store` synchronously (AsyncLocalStorage.enterWith). */
function entered(store) {
  if (!active) return
  settle()
  tracker.switchTo(contextOf(store))
}

/** hub.context.run(store, fn), with the switches into and out of it marked. */
function run(store, fn) {
  if (!active) return hub.context.run(store, fn)
  return hub.context.run(store, () => {
    settle()
    const outer = tracker.current
    tracker.switchTo(contextOf(store))
    try {
      return fn()
    } finally {
      if (active) tracker.switchTo(outer)
    }
  })
}

module.exports = { join, leave, entered, run }
