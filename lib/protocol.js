'use strict'
// The private APM channel between a ProfiledWorker and the runtime preloaded inside it:
// every message's shape, its builder and its validator, the names both sides share, and
// the defaults and rules both sides apply. Loaded at every worker's start, so it requires
// nothing but node:path.
//
// Parent → child: START, STOP, STOP_ALL, TASK, UNTAG. Child → parent: CHUNK, EFFECTS,
// ERROR, EXIT, UNPROFILED, CHILD (relayed upward unchanged through intermediate workers),
// and to the direct parent only STOPPED, STOPPED_ALL, PORT_GONE.
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
  // A worker created a nested worker: the only way a thread id below a worker becomes
  // that worker's to send data for.
  CHILD: 'child',
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
  // Characters of a thread name, an error's name, message or stack, a profile's name.
  text: 65_536,
  // Characters of one chunk's .cpuprofile text. A chunk holds at most one rotation
  // (sampler ROTATE_MS) of samples; at the finest interval that stays far below this.
  chunkJson: 64 * 1024 * 1024,
  // Span bounds in one chunk, all profiles together.
  spanValues: 4 * 1024 * 1024,
  // Characters of one effects text (recordEffect data included) and its custom entries.
  effectsText: 64 * 1024 * 1024,
  custom: 65_536,
  // Nested workers one link may announce below it over its life.
  children: 65_536,
})

// Why a message was dropped, as counted in a thread's report (`dropped`).
const DROP = Object.freeze({
  // Failed its message's check (a field missing, of the wrong type, out of range, too big).
  MALFORMED: 'malformed',
  // For a thread the channel does not own (not the worker, nor a child it announced).
  FOREIGN_THREAD: 'foreignThread',
  // For no profile the worker works for.
  FOREIGN_PROFILE: 'foreignProfile',
  // A child announcement for a thread id that is taken or cannot be a child's.
  BAD_CHILD: 'badChild',
  // Effects whose text is not serialize() text of a valid ThreadEffects.
  BAD_EFFECTS: 'badEffects',
  // A chunk whose text is not a profile (found when it is parsed).
  BAD_CHUNK: 'badChunk',
  // Worker side: a message from the parent that failed its check.
  FROM_PARENT: 'fromParent',
})
const DROP_REASONS = Object.freeze(Object.values(DROP))
// Failures the profiler swallowed, as counted in a thread's report (`failures`).
const FAILURE_KINDS = Object.freeze(['runtime', 'sampler', 'inspector', 'assembly'])

/** The sampling interval rule, the same for the API, the CLI and the worker runtime. */
const isIntervalUs = (v) => Number.isInteger(v) && v >= INTERVAL_MIN_US && v <= INTERVAL_MAX_US
const isStopTimeoutMs = (v) => typeof v === 'number' && v > 0 && v <= STOP_TIMEOUT_MAX_MS

const isObject = (v) => v !== null && typeof v === 'object'
// Profile routing keys, sequence numbers and thread ids of workers.
const isId = (v) => Number.isSafeInteger(v) && v > 0
// Channel keys: 0 is the worker's own postMessage.
const isKey = (v) => Number.isSafeInteger(v) && v >= 0
// No duplicates: each id names a profile the data counts for once.
const isIds = (v, max = LIMITS.ids) =>
  Array.isArray(v) && v.length <= max && v.every(isId) && new Set(v).size === v.length
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
// Per profile id (decimal keys only: no `__proto__`, `constructor`), bounded in all.
const isSpansById = (v) => {
  if (!isPlainRecord(v)) return false
  const keys = Object.keys(v)
  if (keys.length > LIMITS.ids) return false
  let total = 0
  for (const k of keys) {
    if (!/^[1-9][0-9]{0,15}$/.test(k) || !isSpans(v[k])) return false
    total += v[k].length
    if (total > LIMITS.spanValues) return false
  }
  return true
}
const isOptional = (v, check) => v === undefined || check(v)
const isString = (v) => typeof v === 'string'
/** @type {(v: unknown, max?: number) => boolean} */
const isText = (v, max = LIMITS.text) => typeof v === 'string' && v.length <= max
// An object as structured clone or JSON.parse makes one: no array, no prototype of its own.
const isPlainRecord = (v) =>
  isObject(v) && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v))
const isCount = (v) => Number.isSafeInteger(v) && v >= 0
// { reason: count } with reasons from `known` only.
const isCounts = (v, known) =>
  isPlainRecord(v) && Object.keys(v).every((k) => known.includes(k) && isCount(v[k]))

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
    name: text(s.name),
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
    isText(m.name) &&
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
  const msg = { t: MSG.CHUNK, threadId, threadName: text(threadName), ids, json }
  if (spans !== undefined) msg.spans = spans
  return msg
}

/** @returns {ChunkMsg | null} */
function checkChunk(m) {
  return isObject(m) &&
    m.t === MSG.CHUNK &&
    isId(m.threadId) &&
    isText(m.threadName) &&
    isIds(m.ids) &&
    isText(m.json, LIMITS.chunkJson) &&
    isOptional(m.spans, isSpansById)
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
const effects = (id, threadId, threadName, effectsText) => ({
  t: MSG.EFFECTS,
  id,
  threadId,
  threadName: text(threadName),
  effects: effectsText,
})

/** @returns {EffectsMsg | null} */
function checkEffects(m) {
  return isObject(m) &&
    m.t === MSG.EFFECTS &&
    isId(m.id) &&
    isId(m.threadId) &&
    isText(m.threadName) &&
    isText(m.effects, LIMITS.effectsText)
    ? m
    : null
}

const isNs = (v) => typeof v === 'bigint' && v >= 0n
const isFraction = (v) => typeof v === 'number' && v >= 0 && v <= 1
const isElu = (v) =>
  isPlainRecord(v) &&
  typeof v.idle === 'number' &&
  v.idle >= 0 &&
  typeof v.active === 'number' &&
  v.active >= 0 &&
  isFraction(v.utilization)
const isCustom = (v) =>
  Array.isArray(v) &&
  v.length <= LIMITS.custom &&
  v.every((e) => isPlainRecord(e) && isText(e.name) && isString(e.data) && isOptional(e.atNs, isNs))

/**
 * @typedef {object} EffectsValue What an effects text holds (ThreadEffects without
 *   `errors`, with the data of each custom entry still serialize() text).
 * @property {bigint} cpuTimeNs
 * @property {bigint} wallTimeNs
 * @property {{ idle: number, active: number, utilization: number }} eventLoopUtilization
 * @property {Array<{ name: string, data: string, atNs?: bigint }>} custom
 * @property {number} [exitCode]
 * @property {Record<string, number>} [dropped] what this thread's runtime dropped (DROP)
 * @property {Record<string, number>} [failures] what it swallowed (FAILURE_KINDS)
 */

/**
 * The parsed text of an EffectsMsg, field by field.
 * @returns {EffectsValue | null}
 */
function checkEffectsValue(v) {
  return isPlainRecord(v) &&
    isNs(v.cpuTimeNs) &&
    isNs(v.wallTimeNs) &&
    isElu(v.eventLoopUtilization) &&
    isCustom(v.custom) &&
    isOptional(v.exitCode, Number.isSafeInteger) &&
    isOptional(v.dropped, (d) => isCounts(d, DROP_REASONS)) &&
    isOptional(v.failures, (f) => isCounts(f, FAILURE_KINDS))
    ? v
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
          name: text(err.name),
          message: text(err.message),
          ...(typeof err.stack === 'string' ? { stack: text(err.stack) } : {}),
          ...errorCode(/** @type {any} */ (err).code),
        }
      : { message: text(err) }
  return { t: MSG.ERROR, threadId, threadName: text(threadName), ids, error: info }
}

// What passes checkError further up (a nested worker's error is relayed and checked
// again): texts cut to the limit, a code kept as a string or an integer.
/** @param {unknown} v @param {number} [max] */
function text(v, max = LIMITS.text) {
  let s
  try {
    s = String(v)
  } catch {
    s = '(unprintable)'
  }
  return s.length > max ? s.slice(0, max) : s
}
function errorCode(code) {
  if (code === undefined) return {}
  return { code: Number.isSafeInteger(code) ? code : text(code, 1024) }
}

const isErrorInfo = (e) =>
  isObject(e) &&
  isText(e.message) &&
  isOptional(e.name, isText) &&
  isOptional(e.stack, isText) &&
  isOptional(e.code, (c) => isText(c, 1024) || Number.isSafeInteger(c))

/** @returns {ErrorMsg | null} */
function checkError(m) {
  return isObject(m) && m.t === MSG.ERROR && hasErrorFields(m) ? m : null
}

// ERROR and UNPROFILED carry the same fields.
const hasErrorFields = (m) =>
  isId(m.threadId) && isText(m.threadName) && isIds(m.ids) && isErrorInfo(m.error)

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
  threadName: text(threadName),
  ids,
  code,
})

/** @returns {ExitMsg | null} */
function checkExit(m) {
  return isObject(m) &&
    m.t === MSG.EXIT &&
    isId(m.threadId) &&
    isText(m.threadName) &&
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
  return isObject(m) && m.t === MSG.UNPROFILED && hasErrorFields(m) ? m : null
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
 * @typedef {{ t: 'child', threadId: number, parentId: number }} ChildMsg Child → parent
 *   (relayed upward): thread `parentId` created the worker `threadId`.
 */

/** @returns {ChildMsg} */
const child = (threadId, parentId) => ({ t: MSG.CHILD, threadId, parentId })
/** @returns {ChildMsg | null} */
const checkChild = (m) =>
  isObject(m) && m.t === MSG.CHILD && isId(m.threadId) && isId(m.parentId) ? m : null

/**
 * @typedef {StartMsg | StopMsg | StopAllMsg | TaskMsg | UntagMsg} ToChild
 * @typedef {ChunkMsg | EffectsMsg | ErrorMsg | ExitMsg | UnprofiledMsg} Upward data that travels to the main thread
 * @typedef {Upward | ChildMsg | StoppedMsg | StoppedAllMsg | PortGoneMsg} FromChild
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
  [MSG.CHILD]: checkChild,
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
 *   thread's channel was dropped (`reason`: one of DROP)
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

// The WorkerLink of a ProfiledWorker instance.
const kLink = Symbol('profiled-worker.link')

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
  MSG,
  DEFAULTS,
  LIMITS,
  DROP,
  DROP_REASONS,
  FAILURE_KINDS,
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
    child,
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
    child: checkChild,
    effectsValue: checkEffectsValue,
    envelope: checkEnvelope,
    toChild: checkToChild,
    fromChild: checkFromChild,
  },
}
// Outside the literal above: there tsc would widen it to `symbol`, which cannot index a class.
module.exports.kLink = kLink
