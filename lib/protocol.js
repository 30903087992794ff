'use strict'
// The private APM channel between a ProfiledWorker and the runtime preloaded inside it:
// every message's shape, its builder and its validator, the names both sides share, and
// the defaults and rules both sides apply. Loaded at every worker's start, so it requires
// nothing but node:path.
//
// Parent → child: START, STOP, STOP_ALL, TASK, UNTAG. Child → parent: CHUNK, EFFECTS,
// ERROR, EXIT, UNPROFILED (relayed upward unchanged through intermediate workers), and to the direct
// parent only STOPPED, STOPPED_ALL, PORT_GONE.
//
// Whatever arrives on the channel is untrusted: code in the worker can get hold of the
// port. Each validator checks its message field by field and returns it, or null; the
// caller drops a null and counts it, never throws.

const path = require('node:path')

const MSG = Object.freeze({
  START: 'start',
  STOP: 'stop',
  STOP_ALL: 'stop-all',
  // Announces one user message on a watched channel: its key, its sequence number on
  // that channel, the profiles of the context that sent it, and the ports it carries.
  TASK: 'task',
  // The announced message was never sent (postMessage threw).
  UNTAG: 'untag',
  // A watched port left the worker (transferred onward): stop announcing its messages.
  PORT_GONE: 'port-gone',
  CHUNK: 'chunk',
  EFFECTS: 'effects',
  ERROR: 'error',
  EXIT: 'exit',
  // The thread cannot be profiled (the addon or V8's sampler is not available there).
  UNPROFILED: 'unprofiled',
  STOPPED: 'stopped',
  STOPPED_ALL: 'stopped-all',
})

const DEFAULTS = Object.freeze({
  samplingIntervalUs: 1000,
  mainThread: true,
  stopTimeoutMs: 2000,
})

const INTERVAL_MIN_US = 1
const INTERVAL_MAX_US = 1_000_000
const STOP_TIMEOUT_MAX_MS = 600_000
// A nested worker must answer before its parent's own stop timeout runs out.
const NESTED_STOP_SHARE = 0.8

// Bounds on what one message may carry: far above what the profiler sends (ids are the
// profiles active at once, thread ids the workers below one thread), low enough that a
// forged message cannot make the receiver loop for long.
const LIMITS = Object.freeze({
  ids: 65_536,
  threadIds: 65_536,
  ports: 4096,
  pathDepth: 17,
})

/** The sampling interval rule, the same for the API, the CLI and the worker runtime. */
const isIntervalUs = (v) => Number.isInteger(v) && v >= INTERVAL_MIN_US && v <= INTERVAL_MAX_US
const isStopTimeoutMs = (v) => typeof v === 'number' && v > 0 && v <= STOP_TIMEOUT_MAX_MS

const isObject = (v) => v !== null && typeof v === 'object'
// Profile routing keys, sequence numbers and thread ids of workers.
const isId = (v) => Number.isSafeInteger(v) && v > 0
// Channel keys: 0 is the worker's own postMessage.
const isKey = (v) => Number.isSafeInteger(v) && v >= 0
const isIds = (v, max = LIMITS.ids) => Array.isArray(v) && v.length <= max && v.every(isId)
const isPath = (p) =>
  Array.isArray(p) &&
  p.length <= LIMITS.pathDepth &&
  p.every((k) => typeof k === 'string' || Number.isSafeInteger(k))
const isPorts = (v) =>
  Array.isArray(v) &&
  v.length <= LIMITS.ports &&
  v.every((p) => Array.isArray(p) && p.length === 2 && isPath(p[0]) && isId(p[1]))
const isSpans = (v) =>
  Array.isArray(v) && v.length % 2 === 0 && v.every((x) => typeof x === 'number' && isFinite(x))
const isOptional = (v, check) => v === undefined || check(v)
const isString = (v) => typeof v === 'string'

// -- messages ---------------------------------------------------------------------

/**
 * @typedef {object} StartMsg Parent → child: profile this worker for a session from now on.
 * @property {'start'} t
 * @property {number} id the session's routing key (unique for the process)
 * @property {boolean} owner the worker was created inside the profile: all it does counts
 * @property {number} asyncId the async id of the context that started the profile
 * @property {bigint} startNs
 * @property {string} name
 * @property {number} intervalUs
 * @property {number} stopTimeoutMs how long the worker may take to stop its own nested workers
 */

/**
 * @param {SessionLike} s
 * @param {boolean} owner
 * @returns {StartMsg}
 */
function start(s, owner) {
  return {
    t: MSG.START,
    owner,
    id: s.id,
    asyncId: s.asyncId,
    startNs: s.startNs,
    name: s.name,
    intervalUs: s.intervalUs,
    stopTimeoutMs: Math.floor(s.stopTimeoutMs * NESTED_STOP_SHARE),
  }
}

/** @returns {StartMsg | null} */
function checkStart(m) {
  return isObject(m) &&
    m.t === MSG.START &&
    isId(m.id) &&
    isOptional(m.owner, (v) => typeof v === 'boolean') &&
    Number.isSafeInteger(m.asyncId) &&
    typeof m.startNs === 'bigint' &&
    isString(m.name) &&
    isIntervalUs(m.intervalUs) &&
    isOptional(m.stopTimeoutMs, isStopTimeoutMs)
    ? m
    : null
}

/**
 * @typedef {{ t: 'stop', id: number }} StopMsg Parent → child: stop one session here.
 * @typedef {{ t: 'stop-all' }} StopAllMsg Parent → child: stop every session (before terminate).
 */

/** @returns {StopMsg} */
const stop = (id) => ({ t: MSG.STOP, id })
/** @returns {StopMsg | null} */
const checkStop = (m) => (isObject(m) && m.t === MSG.STOP && isId(m.id) ? m : null)
/** @returns {StopAllMsg} */
const stopAll = () => ({ t: MSG.STOP_ALL })
/** @returns {StopAllMsg | null} */
const checkStopAll = (m) => (isObject(m) && m.t === MSG.STOP_ALL ? m : null)

/**
 * @typedef {object} TaskMsg Parent → child: announces the next user message on channel `k`.
 * @property {'task'} t
 * @property {number} k channel key (0: the worker's own postMessage)
 * @property {number} n the message's sequence number on that channel
 * @property {number[]} ids the sending context's sessions
 * @property {Array<[Array<string|number>, number]>} [ports] [path in the message, new key]
 *   of each watched port the message carries
 */

/** @returns {TaskMsg} */
function task(k, n, ids, ports) {
  /** @type {TaskMsg} */
  const tag = { t: MSG.TASK, k, n, ids }
  if (ports !== undefined) tag.ports = ports
  return tag
}

/** @returns {TaskMsg | null} */
function checkTask(m) {
  return isObject(m) &&
    m.t === MSG.TASK &&
    isKey(m.k) &&
    isId(m.n) &&
    isIds(m.ids) &&
    isOptional(m.ports, isPorts)
    ? m
    : null
}

/** @typedef {{ t: 'untag', k: number, n: number }} UntagMsg Parent → child: that message was never sent. */

/** @returns {UntagMsg} */
const untag = (k, n) => ({ t: MSG.UNTAG, k, n })
/** @returns {UntagMsg | null} */
const checkUntag = (m) => (isObject(m) && m.t === MSG.UNTAG && isKey(m.k) && isId(m.n) ? m : null)

/** @typedef {{ t: 'port-gone', k: number }} PortGoneMsg Child → parent: port `k` left the worker. */

/** @returns {PortGoneMsg} */
const portGone = (k) => ({ t: MSG.PORT_GONE, k })
/** @returns {PortGoneMsg | null} */
const checkPortGone = (m) => (isObject(m) && m.t === MSG.PORT_GONE && isId(m.k) ? m : null)

/**
 * @typedef {object} ChunkMsg Child → parent: one stretch of a thread's samples.
 * @property {'chunk'} t
 * @property {number} threadId
 * @property {string} threadName
 * @property {number[]} ids the sessions active during the stretch
 * @property {string} json the stretch as `.cpuprofile` text (hrtime µs)
 * @property {Record<string, number[]>} [spans] per session: [start, end, ...] µs it ran here
 */

/** @returns {ChunkMsg} */
function chunk(threadId, threadName, ids, json, spans) {
  /** @type {ChunkMsg} */
  const msg = { t: MSG.CHUNK, threadId, threadName, ids, json }
  if (spans !== undefined) msg.spans = spans
  return msg
}

/** @returns {ChunkMsg | null} */
function checkChunk(m) {
  return isObject(m) &&
    m.t === MSG.CHUNK &&
    isId(m.threadId) &&
    isString(m.threadName) &&
    isIds(m.ids) &&
    isString(m.json) &&
    isOptional(m.spans, (v) => isObject(v) && !Array.isArray(v) && Object.values(v).every(isSpans))
    ? m
    : null
}

/**
 * @typedef {object} EffectsMsg Child → parent: what one session cost on one thread.
 * @property {'effects'} t
 * @property {number} id
 * @property {number} threadId
 * @property {string} threadName
 * @property {string} effects serialize() text of ThreadEffects (without `errors`)
 */

/** @returns {EffectsMsg} */
const effects = (id, threadId, threadName, text) => ({
  t: MSG.EFFECTS,
  id,
  threadId,
  threadName,
  effects: text,
})

/** @returns {EffectsMsg | null} */
function checkEffects(m) {
  return isObject(m) &&
    m.t === MSG.EFFECTS &&
    isId(m.id) &&
    isId(m.threadId) &&
    isString(m.threadName) &&
    isString(m.effects)
    ? m
    : null
}

/**
 * @typedef {{ name?: string, message: string, stack?: string, code?: unknown }} ErrorInfo
 * @typedef {object} ErrorMsg Parent of the thread (relayed upward): the thread's uncaught error.
 * @property {'error'} t
 * @property {number} threadId
 * @property {string} threadName
 * @property {number[]} ids
 * @property {ErrorInfo} error
 */

/** @returns {ErrorMsg} */
function error(threadId, threadName, ids, err) {
  /** @type {ErrorInfo} */
  const info =
    err instanceof Error
      ? {
          name: String(err.name),
          message: String(err.message),
          ...(typeof err.stack === 'string' ? { stack: err.stack } : {}),
          .../** @type {any} */ (
            err.code === undefined ? {} : { code: /** @type {any} */ (err).code }
          ),
        }
      : { message: String(err) }
  return { t: MSG.ERROR, threadId, threadName, ids, error: info }
}

const isErrorInfo = (e) =>
  isObject(e) &&
  isString(e.message) &&
  isOptional(e.name, isString) &&
  isOptional(e.stack, isString)

/** @returns {ErrorMsg | null} */
function checkError(m) {
  return isObject(m) &&
    m.t === MSG.ERROR &&
    isId(m.threadId) &&
    isString(m.threadName) &&
    isIds(m.ids) &&
    isErrorInfo(m.error)
    ? m
    : null
}

/**
 * @typedef {object} ExitMsg Parent of the thread (relayed upward): the thread exited.
 * @property {'exit'} t
 * @property {number} threadId
 * @property {string} threadName
 * @property {number[]} ids
 * @property {number} code
 */

/** @returns {ExitMsg} */
const exit = (threadId, threadName, ids, code) => ({
  t: MSG.EXIT,
  threadId,
  threadName,
  ids,
  code,
})

/** @returns {ExitMsg | null} */
function checkExit(m) {
  return isObject(m) &&
    m.t === MSG.EXIT &&
    isId(m.threadId) &&
    isString(m.threadName) &&
    isIds(m.ids) &&
    Number.isSafeInteger(m.code)
    ? m
    : null
}

/**
 * @typedef {object} UnprofiledMsg Child (relayed upward): this thread runs unprofiled for
 *   `ids`, because of `error` (the addon's load error, with its code).
 * @property {'unprofiled'} t
 * @property {number} threadId
 * @property {string} threadName
 * @property {number[]} ids
 * @property {ErrorInfo} error
 */

/** @returns {UnprofiledMsg} */
function unprofiled(threadId, threadName, ids, err) {
  return { ...error(threadId, threadName, ids, err), t: MSG.UNPROFILED }
}

/** @returns {UnprofiledMsg | null} */
function checkUnprofiled(m) {
  return isObject(m) &&
    m.t === MSG.UNPROFILED &&
    isId(m.threadId) &&
    isString(m.threadName) &&
    isIds(m.ids) &&
    isErrorInfo(m.error)
    ? m
    : null
}

/**
 * @typedef {{ t: 'stopped', id: number, timedOut: number[] }} StoppedMsg Child → parent:
 *   session `id` stopped here and its data is on its way; `timedOut` lists nested workers
 *   that did not answer in time.
 * @typedef {{ t: 'stopped-all', timedOut: number[] }} StoppedAllMsg Child → parent: every
 *   session stopped here.
 */

/** @returns {StoppedMsg} */
const stopped = (id, timedOut) => ({ t: MSG.STOPPED, id, timedOut })
/** @returns {StoppedAllMsg} */
const stoppedAll = (timedOut) => ({ t: MSG.STOPPED_ALL, timedOut })

/** @returns {StoppedMsg | null} */
const checkStopped = (m) =>
  isObject(m) && m.t === MSG.STOPPED && isId(m.id) && isIds(m.timedOut, LIMITS.threadIds) ? m : null
/** @returns {StoppedAllMsg | null} */
const checkStoppedAll = (m) =>
  isObject(m) && m.t === MSG.STOPPED_ALL && isIds(m.timedOut, LIMITS.threadIds) ? m : null

/**
 * @typedef {StartMsg | StopMsg | StopAllMsg | TaskMsg | UntagMsg} ToChild
 * @typedef {ChunkMsg | EffectsMsg | ErrorMsg | ExitMsg | UnprofiledMsg} Upward data that travels to the main thread
 * @typedef {Upward | StoppedMsg | StoppedAllMsg | PortGoneMsg} FromChild
 */

const TO_CHILD = {
  [MSG.START]: checkStart,
  [MSG.STOP]: checkStop,
  [MSG.STOP_ALL]: checkStopAll,
  [MSG.TASK]: checkTask,
  [MSG.UNTAG]: checkUntag,
}
const FROM_CHILD = {
  [MSG.CHUNK]: checkChunk,
  [MSG.EFFECTS]: checkEffects,
  [MSG.ERROR]: checkError,
  [MSG.EXIT]: checkExit,
  [MSG.UNPROFILED]: checkUnprofiled,
  [MSG.STOPPED]: checkStopped,
  [MSG.STOPPED_ALL]: checkStoppedAll,
  [MSG.PORT_GONE]: checkPortGone,
}

const dispatch = (table, m) =>
  isObject(m) && typeof m.t === 'string' && Object.hasOwn(table, m.t) ? table[m.t](m) : null

/**
 * A message the worker runtime read on its port, if it is one the parent sends.
 * @returns {ToChild | null}
 */
const checkToChild = (m) => dispatch(TO_CHILD, m)

/**
 * A message the parent read on a worker's port, if it is one a child sends.
 * @returns {FromChild | null}
 */
const checkFromChild = (m) => dispatch(FROM_CHILD, m)

// -- the session contract ------------------------------------------------------------

/**
 * What the parent side (WorkerLink, channels) needs of a profile, on any thread:
 * ProfileSession on the main thread, the runtime's LocalSession in a worker.
 *
 * @typedef {object} SessionLike
 * @property {number} id routing key, unique for the process
 * @property {number} asyncId the async id of the context that started the profile
 * @property {bigint} startNs
 * @property {string} name
 * @property {number} intervalUs
 * @property {number} stopTimeoutMs
 * @property {'active' | 'stopping' | 'stopped'} state
 * @property {Array<{ name: string, data: string, atNs: bigint }>} custom recordEffect() calls here
 * @property {(worker: import('node:worker_threads').Worker) => void} attach a worker now works
 *   for this profile
 * @property {(threadIds: number[]) => void} markTimedOut these threads did not stop in time
 * @property {(threadId: number, reason: string) => void} countDrop a message from that
 *   thread's channel was dropped
 */

// -- the envelope ----------------------------------------------------------------------

/**
 * @typedef {object} Envelope What the parent puts in workerData[ENVELOPE] for the runtime.
 * @property {import('node:worker_threads').MessagePort} port the child's end of the channel
 * @property {string[]} execArgv the worker's execArgv as user code should see it
 * @property {string} threadName
 * @property {StartMsg[]} start sessions in force from the worker's first line
 * @property {Array<[Array<string|number>, number]>} ports watched ports in workerData
 */

/** @returns {Envelope | null} */
function checkEnvelope(env) {
  return isObject(env) &&
    isObject(env.port) &&
    Array.isArray(env.execArgv) &&
    env.execArgv.every(isString) &&
    isString(env.threadName) &&
    Array.isArray(env.start) &&
    isPorts(env.ports)
    ? env
    : null
}

module.exports = {
  // Key of the envelope that carries the APM port and start flags inside workerData.
  ENVELOPE: '__profiledWorkerEnvelope_v1',
  RUNTIME_PATH: path.join(__dirname, 'worker', 'index.js'),
  // MessagePort dispatch goes through this registered symbol (lib/internal/per_context/
  // messageport.js); wrapping it on a port lets the runtime act before user listeners.
  HYBRID_DISPATCH: Symbol.for('nodejs.internal.kHybridDispatch'),
  MAIN_THREAD_NAME: 'main',
  // Non-enumerable global in a profiled worker: the parent's way in when the worker is too
  // busy to read its port (see lib/parent/busy.js).
  INTERRUPT: Symbol.for('profiled-worker.interrupt'),
  // The WorkerLink of a ProfiledWorker instance.
  kLink: Symbol('profiled-worker.link'),
  MSG,
  DEFAULTS,
  LIMITS,
  INTERVAL_MIN_US,
  INTERVAL_MAX_US,
  STOP_TIMEOUT_MAX_MS,
  isIntervalUs,
  isStopTimeoutMs,
  build: {
    start,
    stop,
    stopAll,
    task,
    untag,
    portGone,
    chunk,
    effects,
    error,
    exit,
    unprofiled,
    stopped,
    stoppedAll,
  },
  check: {
    start: checkStart,
    stop: checkStop,
    stopAll: checkStopAll,
    task: checkTask,
    untag: checkUntag,
    portGone: checkPortGone,
    chunk: checkChunk,
    effects: checkEffects,
    error: checkError,
    exit: checkExit,
    unprofiled: checkUnprofiled,
    stopped: checkStopped,
    stoppedAll: checkStoppedAll,
    envelope: checkEnvelope,
    toChild: checkToChild,
    fromChild: checkFromChild,
  },
}
