'use strict'
// The profiler runtime of a ProfiledWorker, started by the preload (./index.js) once it
// has given user code its own workerData and execArgv. It serves start/stop requests from
// the parent. It installs no process-wide handlers except an 'exit' listener while a
// profile is active (to send the last chunk home).

const wt = require('node:worker_threads')
const {
  HYBRID_DISPATCH,
  INTERRUPT,
  MSG,
  DEFAULTS,
  DROP,
  kLink,
  build,
  check,
} = require('../protocol')
const { post, receiveMessageOnPort: receive, MessagePort } = require('../util/intrinsics')
const { TaskTracker } = require('./tasks')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

/** @typedef {import('../protocol').SessionLike} SessionLike */

/** @param {import('../protocol').Envelope} env what the parent sent, already unwrapped */
function boot(env) {
  const port = env.port
  const threadName = env.threadName || `worker ${wt.threadId}`
  const stats = { ignored: 0, failed: 0 }

  let native // loaded on the first profile: until then a worker pays nothing
  const cpuNs = () => Number((native ??= require('../util/native')).threadCpuTime())

  // Which profiles the running code works for (see tasks.js).
  const tasks = new TaskTracker(cpuNs)

  // The profiling machinery is loaded with the first profile: a worker's start is on
  // someone's critical path, and most workers are never profiled. Until then `hub` is null.
  let hub = null
  let serialize
  let performance
  function profiling() {
    if (hub) return hub
    ;({ serialize } = require('../util/json'))
    ;({ performance } = require('node:perf_hooks'))
    // Our own hub, in this closure only (see thread/worker-view.js).
    hub = require('../thread/hub').createHub()
    // Rotation cuts run from a timer: never inside one of our own operations.
    hub.setupWorker({ threadName, upstream: (msg) => post(port, msg), tasks, exclusive })
    // Effects so far go home with every rotation: a worker killed at its heap limit runs
    // no listener, and the parent keeps the last ones that arrived.
    hub.sampler.afterRotate = () =>
      exclusive(() => {
        for (const s of hub.sessions.values()) {
          s.usage = tasks.usage(s.id)
          sendEffects(s)
        }
      })
    return hub
  }
  tasks.watch(wt.parentPort, 0)
  tasks.watchCarried(wt.workerData, Array.isArray(env.ports) ? env.ports : [])

  /** A profile as this worker sees it. @implements {SessionLike} */
  class LocalSession {
    constructor(msg) {
      this.id = msg.id
      this.owner = msg.owner !== false
      this.asyncId = msg.asyncId
      this.startNs = msg.startNs
      this.name = msg.name
      this.intervalUs = msg.intervalUs
      this.stopTimeoutMs = msg.stopTimeoutMs ?? DEFAULTS.stopTimeoutMs
      /** @type {'active' | 'stopping' | 'stopped'} */
      this.state = 'active'
      this.workers = new Set()
      this.custom = []
      this.timedOut = new Set()
      this.usage = null // { cpuNs, wallUs } on this thread, once it ended here
      this.elu0 = performance.eventLoopUtilization()
      this.dropped = {} // what this runtime dropped while the profile ran (protocol DROP)
      this.failed0 = stats.failed
      this.sampler0 = hub.sampler.counters()
    }
    countDrop(_threadId, reason) {
      this.dropped[reason] = (this.dropped[reason] ?? 0) + 1
    }
    // Failures swallowed here since the profile started, by kind (protocol FAILURE_KINDS).
    failures() {
      const out = {}
      if (stats.failed > this.failed0) out.runtime = stats.failed - this.failed0
      const now = hub.sampler.counters()
      for (const k of Object.keys(now))
        if (now[k] > this.sampler0[k]) out[k] = now[k] - this.sampler0[k]
      return out
    }
    attach(worker) {
      this.workers.add(worker)
      worker[kLink].sessions.set(this.id, this)
    }
    // Nested workers that did not stop in time before a terminate(): the parent learns
    // of them in this session's STOPPED.
    markTimedOut(threadIds) {
      for (const id of threadIds) this.timedOut.add(id)
    }
    // CPU and wall time count only while the thread worked for this profile: all of it
    // for a worker created inside the profile, its tasks' time for a pooled worker.
    effects(exitCode) {
      const usage = this.usage ?? { cpuNs: 0, wallUs: 0 }
      return serialize({
        cpuTimeNs: BigInt(Math.max(0, Math.round(usage.cpuNs))),
        wallTimeNs: BigInt(Math.max(0, Math.round(usage.wallUs * 1000))),
        eventLoopUtilization: performance.eventLoopUtilization(this.elu0),
        custom: this.custom,
        dropped: this.dropped,
        failures: this.failures(),
        ...(exitCode === undefined ? {} : { exitCode }),
      })
    }
  }

  // The runtime's own operations must not be re-entered: the parent's interrupt
  // (see interrupt() below) can be served by V8 inside our own inspector calls.
  let depth = 0
  function exclusive(fn) {
    depth++
    try {
      return fn()
    } finally {
      depth--
    }
  }

  // Profiles this thread could not join, and why (see notProfiled).
  const unprofiled = new Set()

  function start(msg) {
    exclusive(() => {
      if (hub?.sessions.has(msg.id) || unprofiled.has(msg.id)) return
      // The addon first: where it cannot load (--no-addons, the permission model, no file
      // descriptors left) nothing else is loaded, and the worker runs on unprofiled.
      const { error } = (native ??= require('../util/native')).tryLoad()
      if (error !== null) return notProfiled(msg.id, error)
      try {
        profiling()
      } catch (err) {
        return notProfiled(msg.id, err)
      }
      const s = new LocalSession(msg)
      tasks.join(s.id, s.owner, s.intervalUs)
      hub.sessions.set(msg.id, s)
      try {
        hub.sampler.add(msg.id, msg.intervalUs)
      } catch (err) {
        // No V8 sampler here (the inspector is not allowed): undo the join.
        hub.sampler.remove(msg.id)
        hub.sessions.delete(msg.id)
        tasks.leave(msg.id)
        return notProfiled(msg.id, err)
      }
      if (hub.sessions.size === 1) process.on('exit', onExit)
    })
  }

  // The parent's profile learns why this thread has no samples; its stop is answered as
  // for any profile not (or no longer) here.
  function notProfiled(id, err) {
    unprofiled.add(id)
    debug('worker %d: runs unprofiled: %s', wt.threadId, err)
    post(port, build.unprofiled(wt.threadId, threadName, [id], err))
  }

  function sendEffects(s, exitCode) {
    hub.deliver(build.effects(s.id, wt.threadId, hub.threadName, s.effects(exitCode)))
  }

  /** The synchronous part of a stop: this thread's samples and effects go home now. */
  function stopHere(id) {
    return exclusive(() => {
      const s = hub?.sessions.get(id)
      if (!s) return null
      s.state = 'stopped'
      hub.sessions.delete(id)
      s.delivered = hub.sampler.remove(id)
      s.usage = tasks.leave(id)
      if (hub.sessions.size === 0) process.off('exit', onExit)
      sendEffects(s)
      return s
    })
  }

  async function stop(id) {
    unprofiled.delete(id)
    const s = stopHere(id)
    if (!s) return []
    await s.delivered // the chunk must be on its way before we say 'stopped'
    const nested = await Promise.all([...s.workers].map((w) => w[kLink].stop(s)))
    return [...s.timedOut, ...nested.flatMap((r) => r.timedOut)]
  }

  // Run by the parent through the inspector (NodeWorker → Runtime.evaluate) when this
  // thread is too busy to read its port: V8 serves that in an interrupt, in the middle of
  // whatever synchronous code is running. Only synchronous work is possible here, so
  // nested workers are asked to stop but cannot be waited for; they count as timed out.
  function interrupt(request) {
    // Mid-way through one of our own operations: its normal reply is microseconds away.
    if (depth > 0) return 'reentered'
    let parsed
    try {
      parsed = JSON.parse(request)
    } catch {
      return 'ignored'
    }
    const msg = check.stop(parsed) ?? check.stopAll(parsed)
    if (msg === null) return 'ignored'
    return stopSync(msg)
  }

  /** A STOP or STOP_ALL served synchronously (an interrupt, a pool's wait). */
  function stopSync(msg) {
    const stopped = []
    const timedOut = []
    for (const id of msg.t === MSG.STOP_ALL ? [...(hub?.sessions.keys() ?? [])] : [msg.id]) {
      const s = stopHere(id)
      if (!s) continue
      stopped.push(s)
      for (const w of s.workers) {
        const link = w[kLink]
        if (link.closed || !link.sessions.has(id)) continue
        post(link.port, build.stop(id))
        link.sessions.delete(id)
        timedOut.push(link.threadId)
      }
    }
    // Reply only for what this call stopped: a STOP for a profile not (or no longer) here
    // is answered by the normal path, after its data.
    if (msg.t === MSG.STOP && stopped.length === 0) return 'not-here'
    const reply = msg.t === MSG.STOP ? build.stopped(msg.id, timedOut) : build.stoppedAll(timedOut)
    if (stopped.every((s) => s.delivered.settled)) {
      post(port, reply)
      return 'done'
    }
    // The inspector answered later than usual: reply once the data has gone.
    Promise.all(stopped.map((s) => s.delivered)).then(() => post(port, reply), countFailure)
    return 'deferred'
  }
  Object.defineProperty(globalThis, INTERRUPT, {
    value: interrupt,
    enumerable: false,
    configurable: false,
    writable: false,
  })

  function onExit(code) {
    // Synchronous: the thread is going away. Data posted now still reaches the parent.
    exclusive(() => {
      hub.sampler.removeAll()
      for (const s of hub.sessions.values()) {
        s.usage = tasks.leave(s.id)
        sendEffects(s, code)
      }
      hub.sessions.clear()
    })
  }

  const countFailure = (err) => {
    stats.failed++
    debug('worker %d: runtime operation failed: %s', wt.threadId, err)
  }

  // Nothing here may throw into the worker: malformed input is counted and ignored.
  function handle(raw) {
    try {
      const msg = check.toChild(raw)
      if (msg === null) {
        stats.ignored++
        for (const s of hub?.sessions.values() ?? []) s.countDrop(wt.threadId, DROP.FROM_PARENT)
        return void debug('worker %d: dropped a malformed message from the parent', wt.threadId)
      }
      switch (msg.t) {
        case MSG.START:
          start(msg)
          break
        case MSG.STOP:
          // With no nested worker to wait for, the reply goes now, not from a promise: a
          // pool may park this thread in Atomics.wait before the microtasks run.
          if (depth === 0 && hub?.sessions.get(msg.id)?.workers.size === 0) {
            unprofiled.delete(msg.id)
            if (stopSync(msg) !== 'not-here') break
          }
          stop(msg.id).then((timedOut) => post(port, build.stopped(msg.id, timedOut)), countFailure)
          break
        case MSG.TASK:
          tasks.announce(msg)
          break
        case MSG.UNTAG:
          tasks.withdraw(msg.k, msg.n)
          break
        case MSG.STOP_ALL:
          Promise.all([...(hub?.sessions.keys() ?? [])].map(stop)).then(
            (t) => post(port, build.stoppedAll(t.flat())),
            countFailure,
          )
          break
      }
    } catch (err) {
      countFailure(err)
    }
  }

  function drain() {
    let m
    while ((m = receive(port))) handle(m.message)
  }

  // From inside a pool's Atomics.wait (tasks.js): no promise settles there, so a stop is
  // served as an interrupt serves it; anything else as usual.
  tasks.onIdle = function readWhileParked() {
    if (depth > 0) return
    try {
      let m
      while ((m = receive(port))) {
        const stop = check.stop(m.message) ?? check.stopAll(m.message)
        if (stop === null || stopSync(stop) === 'not-here') handle(m.message)
      }
    } catch (err) {
      countFailure(err)
    }
  }

  port.on('message', handle)
  port.unref()

  // Before the user's listeners see a message on any port, apply everything the parent
  // sent ahead of it on our port (it was enqueued first, so it is already waiting there):
  // starts, and the announcement that says which profiles the message works for.
  // The context a message's handler runs in (see tasks.js). Never throws into user code.
  function beforeDelivery(p, data, drained) {
    try {
      if (!drained) drain()
      return tasks.contextOf(p, data)
    } catch (err) {
      countFailure(err)
      return undefined
    }
  }

  const dispatch = MessagePort.prototype[HYBRID_DISPATCH]
  if (typeof dispatch === 'function') {
    Object.defineProperty(MessagePort.prototype, HYBRID_DISPATCH, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function (data) {
        if (this === port) return Reflect.apply(dispatch, this, arguments)
        const context = beforeDelivery(this, data)
        if (context === undefined || !tasks.recording)
          return Reflect.apply(dispatch, this, arguments)
        const args = arguments
        return tasks.run(context, () => Reflect.apply(dispatch, this, args))
      },
    })
  }
  // Pools read tasks synchronously too (Piscina and tinypool, after Atomics.wait).
  wt.receiveMessageOnPort = function receiveMessageOnPort(p) {
    if (p === port) return receive(p)
    drain()
    const entry = receive(p)
    if (entry !== undefined) tasks.received(beforeDelivery(p, entry.message, true))
    return entry
  }
  // What the package's modules may ask of our hub, before user code can install another.
  require('../thread/worker-view').install(() => hub)
  // Nested workers' data goes to the parent, and each nested worker created here (and
  // below) is announced, so the parent accepts that data.
  require('../parent/profiled-worker').setUpstream((msg) => post(port, msg))
  // A watched port sent onward is no longer read here: stop the parent announcing it.
  require('../parent/channels').setTransferOutHook((transfer) => {
    for (const k of tasks.release(transfer)) post(port, build.portGone(k))
  })

  for (const msg of Array.isArray(env.start) ? env.start : []) {
    if (check.start(msg)) start(msg)
    else {
      stats.ignored++
      debug('worker %d: dropped a malformed start in its envelope', wt.threadId)
    }
  }

  // Nested workers are profiled too. patch() also refreshes the ESM view of
  // worker_threads, which publishes the receiveMessageOnPort above (one refresh costs
  // ~0.2 ms of the worker's start).
  const { patch, isPatched } = require('../parent/patch')
  if (isPatched()) require('node:module').syncBuiltinESMExports()
  else patch()
}

module.exports = { boot }
