'use strict'
// ProfiledWorker: a Worker whose user-visible behaviour is the plain Worker's, plus a
// private APM channel to the profiler runtime preloaded inside it.

const { ENVELOPE, RUNTIME_PATH, MSG, DROP, LIMITS, kLink, build, check } = require('../protocol')
const channels = require('./channels')
// Pool integrations, on first use like the hub.
let poolsModule
const pools = () => (poolsModule ??= require('./instrument'))
const face = require('./face')
const { post, receiveMessageOnPort } = require('../util/intrinsics')
const { threadId: thisThreadId } = require('node:worker_threads')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

// Required on first use: in a worker, this module loads before user code (nested
// workers are profiled too), and every module loaded then delays the worker's start.
let hubModule
const hub = () => (hubModule ??= require('../thread/hub'))

const kIsProfiledWorker = Symbol.for('profiled-worker.class')
// An idle worker answers a stop within a millisecond or two. One that has not answered
// after this long is assumed busy in synchronous code and is reached through an interrupt.
const BUSY_GRACE_MS = 40

// `owner`: the worker was created inside the profile, so its work that no message
// caused (startup, top-level code, its own timers) is the profile's too.
const startMessage = build.start

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

// This thread's direct workers' links, by thread id.
const links = new Map()
// Every thread below this one whose data a link may send → that link: the link's own
// worker, and the nested workers announced through it (MSG.CHILD).
const owners = new Map()

// In a worker, set once by the runtime: posts to the parent. Nested workers' data, errors
// and exits go that way, and the announcement of each nested worker, the only way its
// data is accepted there. On the main thread, the hub takes them.
let upstream = null
function setUpstream(fn) {
  upstream ??= fn
}
const deliver = (msg) => (upstream === null ? hub().deliver(msg) : upstream(msg))

/** The main-side end of one worker's APM channel. */
class WorkerLink {
  constructor(port) {
    this.port = port
    this.worker = null
    this.threadId = 0
    this.name = ''
    this.sessions = new Map() // id → session this worker is profiling for
    // Closed until open(): the Worker may still fail to construct.
    this.closed = true
    this.online = false // the worker emitted 'online' (its runtime reads its port)
    this.waits = new Set() // { match(msg), done(result) }
    this.rejected = 0
    this.children = new Set() // thread ids announced below this worker (MSG.CHILD)
    // Channels into the worker (see channels.js): key 0 is the worker's own postMessage;
    // transferred ports get 1, 2, ...; `gone` lists those that left the worker again.
    this.route0 = { link: this, key: 0, seq: 0, said: undefined }
    this.nextKey = 1
    this.gone = new Set()
  }

  open(worker, name) {
    this.worker = worker
    this.threadId = worker.threadId
    this.name = name
    this.closed = false
    links.set(this.threadId, this)
    owners.set(this.threadId, this)
    // Created inside a worker: the parent learns that this thread is ours.
    upstream?.(build.child(this.threadId, thisThreadId))
    this.port.on('message', (msg) => this.onMessage(msg))
    this.port.once('close', () => this.onClose())
    // Our channel must never keep the process (or the worker) alive.
    this.port.unref()
  }

  // Never throws: whatever arrives here is untrusted (code in the worker can get hold of
  // the port), and a throw would be an uncaught exception in this thread.
  onMessage(raw) {
    let msg
    try {
      msg = check.fromChild(raw)
    } catch {
      msg = null // a getter or proxy trap of a forged message threw
    }
    if (msg === null) return this.drop(DROP.MALFORMED)
    if (msg.t === MSG.PORT_GONE) {
      // Only keys this link handed out: a forger cannot grow the set without bound.
      if (msg.k < this.nextKey) this.gone.add(msg.k)
      else this.drop(DROP.MALFORMED)
      return
    }
    if (msg.t === MSG.STOPPED || msg.t === MSG.STOPPED_ALL) {
      const timedOut = this.own(msg.timedOut)
      for (const w of [...this.waits]) if (w.match(msg)) w.done({ timedOut })
      return
    }
    if (msg.t === MSG.CHILD) return this.adoptChild(msg)
    if (msg.threadId !== this.threadId && owners.get(msg.threadId) !== this)
      return this.drop(DROP.FOREIGN_THREAD)
    const allowed = this.allowed(msg)
    if (allowed) deliver(allowed)
    else this.drop(DROP.FOREIGN_PROFILE)
  }

  /** Count a dropped message in the report of every profile this worker works for. */
  drop(reason) {
    this.rejected++
    debug('worker %d: dropped a message on its channel (%s)', this.threadId, reason)
    for (const s of this.sessions.values()) s.countDrop(this.threadId, reason)
  }

  // Thread ids in a reply that are this worker or below it; the others are dropped.
  own(threadIds) {
    const mine = threadIds.filter((id) => id === this.threadId || owners.get(id) === this)
    if (mine.length < threadIds.length) this.drop(DROP.FOREIGN_THREAD)
    return mine
  }

  // A nested worker of this worker's subtree: its parent must be ours already, and its id
  // not taken. Thread ids only grow, so a child's is above its parent's; a forged claim
  // cannot take the id of a thread that already exists elsewhere.
  adoptChild(msg) {
    const parentOk = msg.parentId === this.threadId || owners.get(msg.parentId) === this
    if (
      !parentOk ||
      msg.threadId <= msg.parentId ||
      owners.has(msg.threadId) ||
      this.children.size >= LIMITS.children
    )
      return this.drop(DROP.BAD_CHILD)
    this.children.add(msg.threadId)
    owners.set(msg.threadId, this)
    // Further up, the same rule applies to us.
    upstream?.(msg)
  }

  // Data from this channel must come from this worker's own subtree (checked by the
  // caller) and concern profiles it works for: code in the worker that got hold of the
  // port cannot file samples in a profile it is not part of. Returns the message limited
  // to those profiles, or null.
  allowed(msg) {
    if (msg.t === MSG.EFFECTS) return this.sessions.has(msg.id) ? msg : null
    const ids = msg.ids.filter((id) => this.sessions.has(id))
    return ids.length ? { ...msg, ids } : null
  }

  onClose() {
    this.closed = true
    links.delete(this.threadId)
    // Thread ids are never reused: nothing can arrive for these any more.
    owners.delete(this.threadId)
    for (const id of this.children) owners.delete(id)
    for (const w of [...this.waits]) w.done({ timedOut: [] })
    // Keep `sessions`: the port can close before the Worker emits 'error' and 'exit', and
    // onWorkerEvent needs them to attribute those (clearing them here lost the exit code).
    // Each session removes itself in stop().
  }

  /** Wait for a reply matching `match`, the channel closing, or `timeoutMs`. */
  wait(match, timeoutMs) {
    return new Promise((resolve) => {
      const w = {
        match,
        done: (result) => {
          clearTimeout(timer)
          this.waits.delete(w)
          resolve(result)
        },
      }
      const timer = setTimeout(() => w.done({ timedOut: [this.threadId] }), timeoutMs)
      this.waits.add(w)
    })
  }

  /** `reply`, and if it is slow to come, the same request again through an interrupt. */
  orInterrupt(reply, request, timeoutMs) {
    let answered = false
    const grace = Math.min(BUSY_GRACE_MS, timeoutMs / 4)
    const timer = setTimeout(() => {
      if (!answered && !this.closed)
        require('./busy').interrupt(this.threadId, request, timeoutMs - grace)
    }, grace)
    return reply.finally(() => {
      answered = true
      clearTimeout(timer)
    })
  }

  /**
   * Profile the worker for `sessions` from now on (before the message that involves it).
   * `owner`: for all the worker does, not only the tasks those sessions send it.
   */
  startFor(sessions, owner = false) {
    if (this.closed) return
    for (const s of sessions) {
      if (this.sessions.has(s.id)) continue
      post(this.port, startMessage(s, owner))
      s.attach(this.worker)
    }
  }

  /** Stop profiling `session` in this worker; resolves once its data is home. */
  async stop(session) {
    if (!this.sessions.has(session.id)) return { timedOut: [] }
    if (this.closed) {
      this.sessions.delete(session.id) // onClose keeps them; see there
      return { timedOut: [] }
    }
    const request = build.stop(session.id)
    const reply = this.wait(
      (m) => m.t === MSG.STOPPED && m.id === session.id,
      session.stopTimeoutMs,
    )
    post(this.port, request)
    const result = await this.orInterrupt(reply, request, session.stopTimeoutMs)
    this.sessions.delete(session.id)
    return result
  }

  /**
   * For a synchronous stop at process exit: send the STOP and return { threadId, poll() }: poll() reads what has arrived on the port without the
   * event loop and is true once the worker said STOPPED or its channel closed.
   */
  requestStop(session) {
    const request = { t: MSG.STOP, id: session.id }
    post(this.port, request)
    let done = false
    return {
      threadId: this.threadId,
      poll: () => {
        let m
        while (!done && (m = receiveMessageOnPort(this.port)) !== undefined) {
          const msg = m.message
          if (msg?.t === MSG.STOPPED && msg.id === session.id) done = true
          else this.onMessage(msg)
        }
        if (done || this.closed) this.sessions.delete(session.id)
        return done || this.closed
      },
    }
  }

  /** Before terminate(): stop every profile, bounded by the longest stop timeout. */
  async stopAll() {
    if (this.closed || this.sessions.size === 0) return
    const timeoutMs = Math.max(...[...this.sessions.values()].map((s) => s.stopTimeoutMs))
    const request = build.stopAll()
    const reply = this.wait((m) => m.t === MSG.STOPPED_ALL, timeoutMs)
    post(this.port, request)
    const { timedOut } = await this.orInterrupt(reply, request, timeoutMs)
    for (const s of this.sessions.values()) s.markTimedOut(timedOut)
  }

  onWorkerEvent(event, arg) {
    if (this.sessions.size === 0) return
    const ids = [...this.sessions.keys()]
    if (event === 'error') {
      deliver(build.error(this.threadId, this.name, ids, arg))
    } else if (event === 'exit') {
      // Sessions stay: the thread's last data (sent from its own 'exit') may still be on
      // its way through our port, and stop() waits for the port to close to get it.
      deliver(build.exit(this.threadId, this.name, ids, arg))
    }
  }
}

function makeProfiledWorker(Base, MessageChannel) {
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
  if (Base[kIsProfiledWorker]) return Base

  // Named Worker: V8 names the class in its own errors ("Class constructor Worker cannot
  // be invoked without 'new'"), as for Node's Worker.
  class Worker extends Base {
    constructor(filename, options) {
      pools().workerCreated() // a pool library's first worker: make its queued tasks count
      const opts = options ?? {}
      // Anything the plain Worker would reject, it rejects itself, with its own error.
      const plain =
        typeof opts !== 'object' ||
        (opts.transferList !== undefined && !Array.isArray(opts.transferList)) ||
        (opts.execArgv !== undefined && !Array.isArray(opts.execArgv))
      if (plain) {
        super(filename, options)
        return
      }
      const { port1, port2 } = new MessageChannel()
      const link = new WorkerLink(port1)
      const sessions = hub().currentSessions()
      const execArgv = opts.execArgv ?? process.execArgv
      // Ports handed over in workerData: their other ends become routes into this worker.
      const ports = Array.isArray(opts.transferList)
        ? channels.adopt(link, opts.workerData, opts.transferList)
        : null
      const envelope = {
        [ENVELOPE]: {
          port: port2,
          execArgv: [...execArgv],
          threadName: typeof opts.name === 'string' ? opts.name : '',
          start: sessions.map((s) => startMessage(s, true)),
          ports: ports === null ? [] : ports.map((p) => [p.path, p.key]),
        },
        workerData: opts.workerData,
      }
      const withRuntime = (argv) => ({
        ...opts,
        workerData: envelope,
        transferList: [...(opts.transferList ?? []), port2],
        // First, so that even the user's own preloads see plain workerData and execArgv.
        execArgv: ['--require', RUNTIME_PATH, ...argv],
      })
      try {
        super(filename, withRuntime(execArgv))
      } catch (err) {
        // An inherited flag Node refuses in an explicit execArgv (see withoutRefused).
        if (err?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || opts.execArgv !== undefined) throw err
        const argv = withoutRefused(Base, execArgv)
        if (argv === null) throw err
        // eslint-disable-next-line constructor-super -- the first super() threw, so this is the only one
        super(filename, withRuntime(argv))
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

  // It looks like the plain Worker: its name, length and text, and its methods' (face.js).
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
  return Worker
}

module.exports = { makeProfiledWorker, kIsProfiledWorker, setUpstream }
