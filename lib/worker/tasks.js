'use strict'
// In a profiled worker: which profiles the code running right now works for, and the
// times it switched, so that a worker shared by several profiles gives each one only the
// samples taken while it ran that profile's tasks.
//
// A task is a message the parent announced (channels.js): the announcement names the
// channel, the message's number on it, and the sending context's profiles. When the
// message is dispatched here, its profiles become the current context; async work it
// starts inherits that context (an async hook copies it onto each new async resource and
// restores it around each callback), like AsyncLocalStorage. Every switch is marked with
// the time (the clock of V8's sample timestamps), however short the context ran: a
// stream of small tasks is made of nothing but short pieces. The thread's CPU clock is a
// system call, many times dearer than performance.now(), so it is read at most once per
// quarter sampling interval, and the CPU time between two readings is shared among the
// pieces in between by their wall time. At each sampler cut the marks become
// per-profile spans, CPU time and wall time.

const { createHook, executionAsyncResource } = require('node:async_hooks')
const { MessagePort } = require('node:worker_threads')
// Switches are marked often: the clock read through performance.now().
const { fastNowUs: nowUs } = require('../util/clock')

// Work no message caused: startup, top-level code, timers it set. It counts for the
// profiles the worker was created in ("owners").
const ROOT = null
// A message announced as sent from outside every profile.
const NONE = Object.freeze({ ids: Object.freeze([]) })

const kContext = Symbol('profiled-worker.context')
// Announcements kept per channel while their messages wait to be dispatched. A channel
// that is never read (a port the user keeps closed) must not grow without bound; the
// oldest are dropped, and their messages count as unannounced.
const MAX_PENDING_PER_CHANNEL = 4096
// Marks are folded into spans once there are this many.
const FOLD_AT = 8192

// Pools park an idle worker in Atomics.wait (Piscina, tinypool), called from the end of
// the task just finished. The wait is idle time, not that task's: while profiling, the
// worker's Atomics.wait runs outside every task. Installed only while a profile is active
// here, so a worker that is never profiled keeps the built-in. With --no-harmony-atomics
// there is no Atomics at all, and with --frozen-intrinsics it cannot be changed (it is
// frozen after the preloads, so that is known only when a profile starts): nothing to
// wrap then.
const hasAtomics = typeof Atomics === 'object' && Atomics !== null
const builtinWait = hasAtomics ? Atomics.wait : undefined
const canWrapWait = () =>
  hasAtomics && Object.getOwnPropertyDescriptor(Atomics, 'wait')?.writable === true
// A thread parked in Atomics.wait reads no port and serves no interrupt, so a stop would
// wait for the pool's next task. While profiling, a wait is made of slices this long,
// and between two the runtime reads its port (onIdle).
const WAIT_SLICE_MS = 10

/**
 * Atomics.wait in slices, `onIdle()` between them; what it returns is what one wait
 * would: 'ok' when woken, 'not-equal' when the value differed at the call, 'timed-out'.
 * A value that changed between two slices was changed by a waker whose notify found no
 * one waiting: that is 'ok'.
 */
function slicedWait(typedArray, index, value, timeout, onIdle) {
  const total = timeout === undefined || Number.isNaN(timeout) ? Infinity : Math.max(0, timeout)
  const end = nowUs() / 1000 + total
  for (let first = true; ; first = false) {
    const left = end - nowUs() / 1000
    const r = builtinWait(typedArray, index, value, Math.max(0, Math.min(left, WAIT_SLICE_MS)))
    if (r === 'ok') return r
    if (r === 'not-equal') return first ? r : 'ok'
    if (left <= WAIT_SLICE_MS) return 'timed-out'
    onIdle()
  }
}

// Only a well-formed call is sliced; any other gets the built-in's own error, in its order.
const sliceable = (typedArray, timeout) =>
  (typedArray instanceof Int32Array || typedArray instanceof BigInt64Array) &&
  (timeout === undefined || typeof timeout === 'number')

class TaskTracker {
  /**
   * @param cpuNs () => this thread's CPU clock in ns, as a Number
   * @param options.hook false: the caller reports every switch with switchTo() (the main
   *   thread, whose context is AsyncLocalStorage's, see main/main-thread.js), so the
   *   tracker enables neither its async hook nor its Atomics.wait
   */
  constructor(cpuNs, { hook = true } = {}) {
    this.cpuNs = cpuNs
    this.ownHook = hook
    this.current = ROOT
    // True while the running callback is the handler of a dispatched message (see run()).
    this.inDispatch = false
    this.stack = [] // [context, inDispatch] of each callback we are nested in
    // Channels: port → key; per key, messages dispatched so far and waiting announcements.
    this.keys = new WeakMap()
    this.counts = new Map()
    this.pending = new Map() // key → announcements not yet reached
    this.states = new Map() // key → the announcement in force
    // Recording, while at least one profile is active here.
    this.members = new Map() // id → { owner, intervalUs, spans, cpuNs, wallUs, ... } (join())
    this.resolutionUs = 0
    this.cpuReadUs = 0 // when the CPU clock was last read
    this.times = []
    this.cpus = []
    this.contexts = []
    // Set by the runtime: read its port now (a stop is answered from inside a pool's wait).
    this.onIdle = null
    const tracker = this
    this.wait = {
      wait(typedArray, index, value, timeout) {
        const c = tracker.current
        tracker.switchTo(ROOT)
        try {
          const onIdle = tracker.onIdle
          if (onIdle === null || !sliceable(typedArray, timeout))
            return Reflect.apply(builtinWait, Atomics, arguments)
          return slicedWait(typedArray, index, value, timeout, onIdle)
        } finally {
          tracker.switchTo(c)
        }
      },
    }.wait
    this.hook = createHook({
      init: (asyncId, type, triggerAsyncId, resource) => this.onInit(resource),
      before: () => this.onBefore(),
      after: () => this.onAfter(),
    })
  }

  get recording() {
    return this.members.size > 0
  }

  // -- channels ---------------------------------------------------------------------

  watch(port, key) {
    if (port instanceof MessagePort) this.keys.set(port, key)
  }

  /** Ports the announcement says the message carries: [[path, key]] into `data`. */
  watchCarried(data, ports) {
    for (const [path, key] of ports) {
      let v = data
      for (const step of path) v = v !== null && typeof v === 'object' ? v[step] : undefined
      this.watch(v, key)
    }
  }

  announce(tag) {
    let q = this.pending.get(tag.k)
    if (q === undefined) this.pending.set(tag.k, (q = []))
    q.push(tag)
    if (q.length > MAX_PENDING_PER_CHANNEL) q.shift()
  }

  withdraw(k, n) {
    const q = this.pending.get(k)
    if (q === undefined) return
    const i = q.findIndex((tag) => tag.n === n)
    if (i >= 0) q.splice(i, 1)
  }

  /** Ports leaving this thread: their messages are no longer ours to count. Returns their keys. */
  release(ports) {
    const keys = []
    for (const p of ports) {
      const key = this.keys.get(p)
      if (key === undefined) continue
      this.keys.delete(p)
      this.counts.delete(key)
      this.pending.delete(key)
      this.states.delete(key)
      if (key !== 0) keys.push(key)
    }
    return keys
  }

  /**
   * A message is being delivered on `port`. Returns the context its handler runs in, or
   * undefined to leave the context as it is (the port is not a watched channel, or no
   * announcement covers the message).
   */
  contextOf(port, data) {
    const key = this.keys.get(port)
    if (key === undefined) return undefined
    const n = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, n)
    // An announcement covers its message and the channel's next ones, up to the next.
    let state = this.states.get(key)
    const q = this.pending.get(key)
    if (q !== undefined) {
      while (q.length > 0 && q[0].n <= n) state = q.shift()
      if (q.length === 0) this.pending.delete(key)
      if (state !== undefined) this.states.set(key, state)
    }
    if (state === undefined) return undefined
    if (state.n === n && state.ports !== undefined) this.watchCarried(data, state.ports)
    return state.ids.length > 0 ? (state.context ??= { ids: state.ids }) : NONE
  }

  // -- context ----------------------------------------------------------------------

  /** Run `fn` in `context` (a message's handler). */
  run(context, fn) {
    this.stack.push(this.current, this.inDispatch)
    this.inDispatch = true
    this.switchTo(context)
    try {
      return fn()
    } finally {
      this.onAfter()
    }
  }

  /**
   * A message read synchronously (receiveMessageOnPort). Pools read their next task this
   * way once the last one is done, from that task's async continuation: the rest of that
   * synchronous code works for the new task. A message handler that reads more messages
   * is still handling the one it was called for.
   */
  received(context) {
    if (context !== undefined && !this.inDispatch && this.members.size > 0) this.switchTo(context)
  }

  /** The local sessions the running code works for, from `sessions` (id → session). */
  sessionsNow(sessions) {
    const c = this.current
    if (c === ROOT) return [...sessions.values()].filter((s) => s.owner)
    const out = []
    for (const id of c.ids) {
      const s = sessions.get(id)
      if (s !== undefined) out.push(s)
    }
    return out
  }

  // Async hooks never throw: an exception there is fatal to the thread.
  onInit(resource) {
    const c = this.current
    if (c === ROOT || resource === null || typeof resource !== 'object') return
    try {
      resource[kContext] = c
    } catch {
      // a frozen resource keeps no context: its callbacks count as ROOT
    }
  }

  onBefore() {
    // An uncaught exception skips `after`; never let that grow the stack without bound.
    if (this.stack.length > 20_000) this.stack.length = 0
    this.stack.push(this.current, this.inDispatch)
    this.inDispatch = false
    let c = ROOT
    try {
      const r = executionAsyncResource()
      if (r !== null && typeof r === 'object' && kContext in r) c = r[kContext]
    } catch {
      // ROOT
    }
    this.switchTo(c)
  }

  onAfter() {
    if (this.stack.length >= 2) {
      this.inDispatch = this.stack.pop()
      this.switchTo(this.stack.pop())
    } else {
      this.inDispatch = false
      this.switchTo(ROOT)
    }
  }

  /**
   * `at` and `cpu` (NaN: interpolated): when the switch happened and the CPU clock then,
   * for a switch marked after the fact (main/main-thread.js); by default, now.
   */
  switchTo(context, at = undefined, cpu = undefined) {
    if (context === this.current) return
    this.current = context
    if (this.members.size === 0) return
    const t = at ?? nowUs()
    this.times.push(t)
    this.contexts.push(context)
    if (cpu !== undefined) {
      this.cpus.push(cpu)
    } else if (t - this.cpuReadUs >= this.resolutionUs) {
      this.cpuReadUs = t
      this.cpus.push(this.cpuNs())
    } else {
      this.cpus.push(NaN) // interpolated in fold()
    }
    if (this.times.length > FOLD_AT) this.fold()
  }

  // -- recording --------------------------------------------------------------------

  /** A profile became active here. `owner`: the worker was created inside it. */
  join(id, owner, intervalUs) {
    if (this.members.size > 0) this.fold()
    else this.restart()
    // endCpuNs: the CPU clock where this member's last span ends; foreign: whether
    // another member has worked since.
    this.members.set(id, {
      owner,
      intervalUs,
      spans: [],
      cpuNs: 0,
      wallUs: 0,
      endCpuNs: 0,
      foreign: false,
    })
    this.resolutionUs = Math.min(...[...this.members.values()].map((m) => m.intervalUs)) / 4
    if (this.members.size === 1 && this.ownHook) {
      this.hook.enable()
      if (canWrapWait() && Atomics.wait === builtinWait) Atomics.wait = this.wait
    }
  }

  /** A profile ended here: its CPU and wall time on this thread. */
  leave(id) {
    const m = this.members.get(id)
    if (m === undefined) return null
    this.fold()
    this.members.delete(id)
    if (this.members.size === 0) {
      // With the hook off, callbacks that already began will not report their end.
      this.hook.disable()
      if (canWrapWait() && Atomics.wait === this.wait) Atomics.wait = builtinWait
      this.stack.length = 0
      this.times.length = this.cpus.length = this.contexts.length = 0
    }
    return { cpuNs: m.cpuNs, wallUs: m.wallUs }
  }

  /** A profile's CPU and wall time on this thread so far, while it goes on. */
  usage(id) {
    const m = this.members.get(id)
    if (m === undefined) return null
    this.fold()
    return { cpuNs: m.cpuNs, wallUs: m.wallUs }
  }

  /** At a sampler cut: each of `ids`' spans since the last cut, as flat [start, end, ...] µs. */
  take(ids) {
    if (this.members.size > 0) this.fold()
    const out = {}
    for (const id of ids) {
      const m = this.members.get(id)
      if (m === undefined) continue
      out[id] = m.spans
      m.spans = []
    }
    return out
  }

  restart() {
    this.cpuReadUs = nowUs()
    this.times = [this.cpuReadUs]
    this.cpus = [this.cpuNs()]
    this.contexts = [this.current]
  }

  // Turn the marks so far into each member's spans, CPU and wall time.
  fold() {
    const end = nowUs()
    const endCpu = this.cpuNs()
    this.cpuReadUs = end
    const { times, cpus, contexts } = this
    times.push(end)
    cpus.push(endCpu)
    interpolate(times, cpus)
    const n = contexts.length // piece i: [times[i], times[i + 1]) in contexts[i]
    for (const [id, m] of this.members) {
      const spans = m.spans
      // A gap shorter than the resolution between two of this member's pieces is joined
      // to them (spans, wall and CPU time alike) unless another member worked in it:
      // fewer spans, and never a foreign sample.
      let foreign = m.foreign
      for (let i = 0; i < n; i++) {
        const t0 = times[i]
        const t1 = times[i + 1]
        if (t1 <= t0) continue
        const c = contexts[i]
        if (c === ROOT ? !m.owner : !c.ids.includes(id)) {
          if (!foreign && this.worksForOther(c, id)) foreign = true
          continue
        }
        const k = spans.length
        const last = spans[k - 1] // where this member's last piece ended
        if (k > 0 && (t0 === last || (!foreign && t0 - last <= this.resolutionUs))) {
          m.wallUs += t1 - last
          m.cpuNs += cpus[i + 1] - m.endCpuNs
          spans[k - 1] = t1
        } else {
          m.wallUs += t1 - t0
          m.cpuNs += cpus[i + 1] - cpus[i]
          spans.push(t0, t1)
        }
        m.endCpuNs = cpus[i + 1]
        foreign = false
      }
      m.foreign = foreign
    }
    this.times = [end]
    this.cpus = [endCpu]
    this.contexts = [this.current]
  }

  /** Whether code running in `context` works for a member other than `id`. */
  worksForOther(context, id) {
    for (const [other, m] of this.members) {
      if (other === id) continue
      if (context === ROOT ? m.owner : context.ids.includes(other)) return true
    }
    return false
  }
}

// CPU clock readings missing (NaN) between two taken ones are filled in in proportion to
// wall time. The first and last readings are always taken.
function interpolate(times, cpus) {
  let k = 0 // the last index with a reading
  for (let i = 1; i < cpus.length; i++) {
    if (Number.isNaN(cpus[i])) continue
    if (i > k + 1) {
      const dt = times[i] - times[k]
      const dc = cpus[i] - cpus[k]
      for (let j = k + 1; j < i; j++) {
        cpus[j] = dt > 0 ? cpus[k] + (dc * (times[j] - times[k])) / dt : cpus[k]
      }
    }
    k = i
  }
}

module.exports = { TaskTracker, ROOT, NONE }
