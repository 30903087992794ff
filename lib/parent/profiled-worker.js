'use strict'
// ProfiledWorker: a Worker whose user-visible behaviour is the plain Worker's, plus a
// private APM channel (lib/parent/link.js) to the profiler runtime preloaded inside it.

const { ENVELOPE, RUNTIME_PATH, kLink, build } = require('../protocol')
const { WorkerLink, setUpstream } = require('./link')
const channels = require('./channels')
// Pool integrations, on first use like the hub.
let poolsModule
const pools = () => (poolsModule ??= require('./instrument'))
const face = require('./face')

// Required on first use: in a worker, this module loads before user code (nested
// workers are profiled too), and every module loaded then delays the worker's start.
let hubModule
const hub = () => (hubModule ??= require('../thread/hub'))

const kIsProfiledWorker = Symbol.for('profiled-worker.class')

// "Initiated Worker with invalid execArgv flags: --a, --b" (lib/internal/worker.js)
function invalidFlags(message) {
  const at = message.indexOf(': ')
  return new Set(at < 0 ? [] : message.slice(at + 2).split(', '))
}

// A workerData that cannot be cloned: the Worker constructor checks execArgv, then fails
// on this before it starts a thread, so a probe costs no thread and emits no event.
const UNCLONEABLE = Symbol('profiled-worker.probe')

/** The flags Node refuses in `argv` as an explicit execArgv, or null if it takes them all. */
function refused(Worker, argv) {
  try {
    const w = Reflect.construct(Worker, [
      '0',
      { eval: true, execArgv: argv, workerData: UNCLONEABLE },
    ])
    // Not reached on any Node we know; should one clone later, the thread is let go at once.
    w.unref()
    w.terminate()
  } catch (err) {
    if (err?.code === 'ERR_WORKER_INVALID_EXEC_ARGV') return invalidFlags(String(err.message))
  }
  return null
}

// Inherited flags Node refuses in an explicit execArgv: V8 and process-wide ones
// (--max-old-space-size, --title), also under a name Node rewrites before it checks
// (--experimental-shadow-realm is refused as --harmony-shadow-realm). Plain Node applies
// them process-wide and lets a worker that gives no execArgv inherit them silently; ours
// gives one (to preload the runtime), so it leaves those out. Found by probing (see
// UNCLONEABLE), once per distinct parent execArgv. Returns null if that fails.
const inheritable = new Map()
function withoutRefused(Worker, execArgv) {
  const key = JSON.stringify(execArgv)
  if (inheritable.has(key)) return inheritable.get(key)
  // A flag and the values that follow it (`--require x`): execArgv holds no script.
  let groups = []
  for (const arg of execArgv) {
    if (groups.length === 0 || arg.startsWith('-')) groups.push([arg])
    else groups[groups.length - 1].push(arg)
  }
  const without = (i) => groups.filter((_, j) => j !== i)
  let invalid = refused(Worker, groups.flat())
  while (invalid !== null && groups.length > 0) {
    let at = groups.findIndex((g) => invalid.has(g.join(' ')) || invalid.has(g[0]))
    if (at < 0) {
      at = groups.findIndex((_, i) => {
        const left = refused(Worker, without(i).flat())
        return left === null || left.size < invalid.size
      })
    }
    if (at < 0) break
    groups = without(at)
    invalid = refused(Worker, groups.flat())
  }
  const out = invalid === null ? groups.flat() : null
  inheritable.set(key, out)
  return out
}

/** Throws what Node's own argument checks would, naming makeProfiledWorker's parameter. */
function checkClasses(Base, MessageChannel) {
  if (typeof Base !== 'function')
    throw require('../util/errors').invalidArgType(
      'makeProfiledWorker(Worker, MessageChannel): Worker',
      'a class (worker_threads.Worker)',
      Base,
    )
  if (typeof MessageChannel !== 'function') {
    throw require('../util/errors').invalidArgType(
      'makeProfiledWorker(Worker, MessageChannel): MessageChannel',
      'a class (worker_threads.MessageChannel)',
      MessageChannel,
    )
  }
}

// Anything the plain Worker would reject, it rejects itself, with its own error.
function isPlainOnly(opts) {
  return (
    typeof opts !== 'object' ||
    (opts.transferList !== undefined && !Array.isArray(opts.transferList)) ||
    (opts.execArgv !== undefined && !Array.isArray(opts.execArgv))
  )
}

/** What the runtime finds in workerData[ENVELOPE], with the user's workerData beside it. */
function makeEnvelope(opts, link, port, sessions, execArgv) {
  // Ports handed over in workerData: their other ends become routes into this worker.
  const ports = Array.isArray(opts.transferList)
    ? channels.adopt(link, opts.workerData, opts.transferList)
    : null
  return {
    [ENVELOPE]: {
      port,
      execArgv: [...execArgv],
      threadName: typeof opts.name === 'string' ? opts.name : '',
      start: sessions.map((s) => build.start(s, true)),
      ports: ports === null ? [] : ports.map((p) => [p.path, p.key]),
    },
    workerData: opts.workerData,
  }
}

/** The user's options with the runtime preloaded and its envelope and port added. */
function withRuntime(opts, envelope, port, argv) {
  return {
    ...opts,
    workerData: envelope,
    transferList: [...(opts.transferList ?? []), port],
    // First, so that even the user's own preloads see plain workerData and execArgv.
    execArgv: ['--require', RUNTIME_PATH, ...argv],
  }
}

/**
 * After the Worker constructor threw `err`: the execArgv to try again with, when the cause
 * is an inherited flag Node refuses in an explicit execArgv (see withoutRefused). Throws
 * `err` otherwise.
 */
function retryArgv(err, Base, opts, execArgv) {
  if (err?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || opts.execArgv !== undefined) throw err
  const argv = withoutRefused(Base, execArgv)
  if (argv === null) throw err
  return argv
}

// It looks like the plain Worker: its name, length and text, and its methods' (face.js).
function lookLike(Worker, Base) {
  Object.defineProperty(Worker, kIsProfiledWorker, { value: true })
  Object.defineProperty(Worker, 'name', { value: Base.name })
  Object.defineProperty(Worker, 'length', { value: Base.length })
  face.mask(Worker, Base)
  for (const key of ['postMessage', 'emit', 'terminate']) {
    const original = Reflect.get(Base.prototype, key)
    const ours = Worker.prototype[key]
    if (typeof original !== 'function') continue
    Object.defineProperty(ours, 'length', { value: original.length })
    face.mask(ours, original)
  }
}

function makeProfiledWorker(Base, MessageChannel) {
  checkClasses(Base, MessageChannel)
  if (Base[kIsProfiledWorker]) return Base

  // Named Worker: V8 names the class in its own errors ("Class constructor Worker cannot
  // be invoked without 'new'"), as for Node's Worker.
  class Worker extends Base {
    constructor(filename, options) {
      pools().workerCreated() // a pool library's first worker: make its queued tasks count
      const opts = options ?? {}
      if (isPlainOnly(opts)) {
        super(filename, options)
        return
      }
      const { port1, port2 } = new MessageChannel()
      const link = new WorkerLink(port1)
      const sessions = hub().currentSessions()
      const execArgv = opts.execArgv ?? process.execArgv
      const envelope = makeEnvelope(opts, link, port2, sessions, execArgv)
      try {
        super(filename, withRuntime(opts, envelope, port2, execArgv))
      } catch (err) {
        const argv = retryArgv(err, Base, opts, execArgv)
        // eslint-disable-next-line constructor-super -- the first super() threw, so this is the only one
        super(filename, withRuntime(opts, envelope, port2, argv))
      }
      this[kLink] = link
      link.open(this, envelope[ENVELOPE].threadName || `worker ${this.threadId}`)
      for (const s of sessions) s.attach(this)
    }

    // postMessage and emit run for every message: `arguments`, not rest and spread,
    // which would allocate an array each time. No named parameters, so that `length`
    // stays the plain Worker's.
    postMessage() {
      const link = this[kLink]
      if (link === undefined) return super.postMessage.apply(this, arguments)
      // Synchronous, and the announcement goes ahead of the user's message: the runtime
      // drains our port before it dispatches the user's message, so a start is in force
      // and the task's profiles are known when the handler runs.
      const args = arguments
      const transfer = args[1] === undefined ? null : channels.transferListOf(args[1])
      return channels.sendOn(link.route0, args[0], transfer, () =>
        super.postMessage.apply(this, args),
      )
    }

    emit(event) {
      if (event === 'online' && this[kLink]) this[kLink].online = true
      if (event === 'error' || event === 'exit') this[kLink]?.onWorkerEvent(event, arguments[1])
      return super.emit.apply(this, arguments)
    }

    // A named parameter: `length` is the plain Worker's (1).
    terminate(callback) {
      const link = this[kLink]
      const args = arguments
      // Before 'online' the worker has run no user code and sampled nothing worth waiting
      // for; plain Node stops it before it starts (exit code 0), and so do we.
      if (!link || link.closed || link.sessions.size === 0 || !link.online)
        return super.terminate.apply(this, args)
      return link.stopAll().then(() => super.terminate.apply(this, args))
    }
  }

  lookLike(Worker, Base)
  return Worker
}

module.exports = { makeProfiledWorker, kIsProfiledWorker, setUpstream }
