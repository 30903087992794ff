'use strict'
// WorkerLink: the parent's end of one profiled worker's private channel. It checks what
// the worker sends, hands the worker's data to the hub (or further up, in a worker) and
// asks the worker to start and stop profiles.

const { MSG, DROP, LIMITS, build, check } = require('../protocol')
const { post, receiveMessageOnPort } = require('../util/intrinsics')
const { threadId: thisThreadId } = require('node:worker_threads')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

// Required on first use: in a worker, this module loads before user code (nested
// workers are profiled too), and every module loaded then delays the worker's start.
let hubModule
const hub = () => (hubModule ??= require('../thread/hub'))

// An idle worker answers a stop within a millisecond or two. One that has not answered
// after this long is assumed busy in synchronous code and is reached through an interrupt.
const BUSY_GRACE_MS = 40

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
    // Thread ids are never reused: nothing can arrive for these any more.
    owners.delete(this.threadId)
    for (const id of this.children) owners.delete(id)
    for (const w of [...this.waits]) w.done({ timedOut: [] })
    // Keep `sessions`: the port can close before the Worker emits 'error' and 'exit', and
    // onWorkerEvent needs them to attribute those (the exit code among them).
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
      post(this.port, build.start(s, owner))
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

module.exports = { WorkerLink, setUpstream }
