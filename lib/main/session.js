'use strict'
// A profile on the main thread: its time window, the workers it involves, and the data
// that flows home for it, assembled into a ProfileReport when it stops.

const path = require('node:path')
const { pathToFileURL } = require('node:url')
const { performance } = require('node:perf_hooks')
const native = require('../util/native')
const hub = require('../thread/hub')
const { nowUs } = require('../util/clock')
const { deserialize } = require('../util/json')
const { ProfileReport } = require('./report')
const mainThread = require('./main-thread')
const { MAIN_THREAD_NAME, DROP, kLink, build, check } = require('../protocol')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

// The addon, or null where it cannot load here: the profile then goes on without
// samples, each thread reported as 'unprofiled' with the reason (see native.js).
const addon = () => native.tryLoad().binding
const errorInfo = (err) => build.error(0, '', [], err).error

const emptyProfile = (t0, t1) =>
  native.CpuProfile.parse(
    JSON.stringify({
      nodes: [
        {
          id: 1,
          callFrame: {
            functionName: '(root)',
            scriptId: '0',
            url: '',
            lineNumber: -1,
            columnNumber: -1,
          },
        },
      ],
      startTime: t0,
      endTime: t1,
      samples: [],
      timeDeltas: [],
    }),
  )

// No sample stands for more than this many sampling intervals: a longer stretch without
// one (a cut, a restart of V8's profiler, a thread the OS did not run) is a gap, charged
// to `(unsampled)`, not to the function sampled before it. V8's timer runs late under
// load, so one interval would turn ordinary jitter into gaps.
const CAP_INTERVALS = 3

// Our own code, by script url (CommonJS frames carry a file URL, older Nodes a path):
// samples taken while it runs on its own account become `(profiled-worker)` (src/core/own.rs).
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..')
const OWN_URL_PREFIXES = [path.join(PACKAGE_ROOT, 'lib'), path.join(PACKAGE_ROOT, 'index.js')]
  .flatMap((p) => [pathToFileURL(p).href, p])
  .map((p) => (p.endsWith('.js') ? p : `${p}${p.startsWith('file:') ? '/' : path.sep}`))

const assembleOptions = (intervalUs) => ({
  capUs: CAP_INTERVALS * intervalUs,
  ownUrlPrefixes: OWN_URL_PREFIXES,
})

const flatSpans = (spans) => (spans === null ? undefined : Float64Array.from(spans))

/**
 * Chunks of one thread (promises of parsed CpuProfiles, see hub.js) → one profile of the
 * window [t0, t1], limited to the thread's spans for the session when it sent any (a
 * worker), built off the JS thread. Its samples and markers tile the window: see
 * src/core/assemble.rs for what each stretch of time is charged to.
 */
async function assemble(chunks, t0, t1, spans, intervalUs) {
  if (chunks.length === 0) return emptyProfile(t0, t1)
  return native.CpuProfile.assembleParsedAsync(
    chunks,
    t0,
    t1,
    flatSpans(spans),
    assembleOptions(intervalUs),
  )
}

/**
 * The parsed chunks of thread `t`: one that did not parse (text from the channel is
 * untrusted) is left out and counted, so one thread's bad chunk cannot fail the report.
 */
async function parsedChunks(t) {
  const settled = await Promise.allSettled(t.chunks)
  const ok = []
  for (const r of settled) {
    if (r.status === 'fulfilled') ok.push(r.value)
    else countIn(t.dropped, DROP.BAD_CHUNK)
  }
  return ok
}

const countIn = (counts, key, n = 1) => {
  counts[key] = (counts[key] ?? 0) + n
}

// What the thread's sampler swallowed since `base` (a ThreadSampler.counters() snapshot).
function failuresSince(base) {
  const now = hub.sampler.counters()
  const out = {}
  for (const k of Object.keys(now)) if (now[k] > base[k]) out[k] = now[k] - base[k]
  return out
}

/** `assemble`, synchronously, on the JS thread (see ProfileSession.stopNow). */
function assembleNow(t, t0, t1, intervalUs) {
  const parsed = []
  for (const c of t.chunks) {
    try {
      parsed.push(c.value ?? native.CpuProfile.parse(c.json))
    } catch {
      countIn(t.dropped, DROP.BAD_CHUNK) // left out and counted, as on the async path
    }
  }
  if (parsed.length === 0) return emptyProfile(t0, t1)
  return native.CpuProfile.assembleParsed(
    parsed,
    t0,
    t1,
    flatSpans(t.spans),
    assembleOptions(intervalUs),
  )
}

// Told of every profile's start and stop (continuous profiling labels the samples each
// request caused, lib/continuous/): objects with started(session) and stopped(session).
const observers = new Set()
const tell = (what, session) => {
  for (const o of observers) {
    try {
      o[what](session)
    } catch {
      // An observer's failure is its own; the profile goes on.
    }
  }
}

/** µs of a profile's time → ns, as the effects carry time. */
const usToNs = (us) => BigInt(Math.round(us * 1000))

// Routing key of a session: unique for the process, unlike async ids, which a context
// keeps when it profiles again (late data for an old profile must not reach a new one).
let nextKey = 1

/** @typedef {import('../protocol').SessionLike} SessionLike */

/** A profile on the main thread. @implements {SessionLike} */
class ProfileSession {
  constructor(asyncId, name, options) {
    this.id = nextKey++
    this.asyncId = asyncId
    this.name = name
    this.intervalUs = options.samplingIntervalUs
    this.mainThread = options.mainThread !== false
    // Split (the default): the main thread's share is the time this profile's context ran.
    this.split = options.mainThread === true
    this.stopTimeoutMs = options.stopTimeoutMs
    /** @type {'active' | 'stopping' | 'stopped'} */
    this.state = 'active'
    this.startNs = process.hrtime.bigint()
    this.t0 = nowUs()
    this.workers = new Set()
    this.threads = new Map()
    this.custom = [] // recordEffect() calls on the main thread
    this.scoped = false // a window of processScope(), which owns every worker whole
    this.done = null
    hub.sessions.set(this.id, this)
    if (this.mainThread) {
      const main = this.thread(0, MAIN_THREAD_NAME)
      // Split: no spans yet means no samples, never the whole thread's.
      main.spans = this.split ? [] : null
      this.mainFailures0 = hub.sampler.counters()
      this.mainElu0 = performance.eventLoopUtilization()
      const { binding, error } = native.tryLoad()
      try {
        if (error !== null) throw error
        this.mainCpu0 = binding.threadCpuTime()
        if (this.split) mainThread.join(this)
        hub.sampler.add(this.id, this.intervalUs)
      } catch (err) {
        hub.sampler.remove(this.id)
        main.unprofiled = errorInfo(err)
      }
    }
    tell('started', this)
  }

  thread(threadId, name) {
    let t = this.threads.get(threadId)
    if (!t) {
      t = {
        threadId,
        name,
        chunks: [],
        spans: null,
        effects: null,
        errors: [],
        exitCode: null,
        timedOut: false,
        dropped: {}, // reason → messages dropped for this profile (protocol DROP)
        failures: {}, // kind → failures swallowed (protocol FAILURE_KINDS)
        unprofiled: null, // ErrorInfo: why the thread could not be profiled
      }
      this.threads.set(threadId, t)
    } else if (name && !t.name) {
      t.name = name
    }
    return t
  }

  attach(worker) {
    const link = worker[kLink]
    this.workers.add(worker)
    link.sessions.set(this.id, this)
    this.thread(link.threadId, link.name)
  }

  /** A message from `threadId`'s channel was dropped while it worked for this profile. */
  countDrop(threadId, reason) {
    countIn(this.thread(threadId).dropped, reason)
  }

  /** @param {number[]} threadIds */
  markTimedOut(threadIds) {
    for (const id of threadIds) this.thread(id).timedOut = true
  }

  addChunk(threadId, name, chunk, spans) {
    const t = this.thread(threadId, name)
    t.chunks.push(chunk)
    // A process scope's window (api.js processScope) owns each worker whole: the task
    // spans, which split a shared worker among profiles, do not cut it.
    if (!this.scoped && Array.isArray(spans) && spans.every(Number.isFinite)) {
      t.spans ??= []
      for (const v of spans) t.spans.push(v)
    }
  }

  // The text comes from the channel: whatever does not parse or check is dropped and
  // counted on the thread, never thrown (this runs in the port's message listener).
  setEffects(threadId, name, text) {
    const t = this.thread(threadId, name)
    let effects
    try {
      const value = check.effectsValue(deserialize(text))
      if (value === null) throw new TypeError('not a ThreadEffects')
      // recordEffect() data was serialized where it was recorded (so bad data fails there).
      // Only the fields checked: nothing else the text carries reaches the report.
      const { cpuTimeNs, wallTimeNs, eventLoopUtilization: elu, exitCode } = value
      effects = {
        cpuTimeNs,
        wallTimeNs,
        eventLoopUtilization: { idle: elu.idle, active: elu.active, utilization: elu.utilization },
        custom: value.custom.map((e) => ({
          name: e.name,
          data: deserialize(e.data),
          ...(e.atNs === undefined ? {} : { atNs: e.atNs }),
        })),
        ...(exitCode === undefined ? {} : { exitCode }),
      }
      for (const [k, n] of Object.entries(value.dropped ?? {})) countIn(t.dropped, k, n)
      for (const [k, n] of Object.entries(value.failures ?? {})) countIn(t.failures, k, n)
    } catch (err) {
      debug('thread %d: dropped effects that do not check: %s', threadId, err)
      return this.countDrop(threadId, DROP.BAD_EFFECTS)
    }
    t.effects = effects
  }

  addError(threadId, name, error) {
    this.thread(threadId, name).errors.push(error)
  }

  markExit(threadId, name, code) {
    this.thread(threadId, name).exitCode = code
  }

  markUnprofiled(threadId, name, error) {
    this.thread(threadId, name).unprofiled ??= error
  }

  stop() {
    this.done ??= this.finish()
    return this.done
  }

  /**
   * Stop now, synchronously, when the process is exiting (process.exit(), an uncaught
   * error) and no promise will settle any more: the main thread's samples, the chunks
   * already home, and each live worker's last piece if it answers within `budgetMs` in
   * all (polled on the APM ports). Returns the ProfileReport; threads that did not answer
   * have status 'timeout'.
   */
  stopNow(budgetMs) {
    if (this.state !== 'active') return null
    this.state = 'stopping'
    const endNs = process.hrtime.bigint()
    const t1 = nowUs()
    const deadline = performance.now() + budgetMs
    const waiting = []
    for (const w of this.workers) {
      const link = w[kLink]
      if (link.sessions.has(this.id) && !link.closed) waiting.push(link.requestStop(this))
    }
    if (this.mainThread) {
      hub.sampler.remove(this.id)
      this.thread(0).effects = this.mainEffects(endNs, this.split ? mainThread.leave(this) : null)
      Object.assign(this.thread(0).failures, failuresSince(this.mainFailures0))
    }
    let open = waiting
    while (open.length > 0 && performance.now() < deadline) open = open.filter((w) => !w.poll())
    for (const w of open) this.thread(w.threadId).timedOut = true
    this.close()
    return this.report(
      endNs,
      this.threadReports((t) => assembleNow(t, this.t0, t1, this.intervalUs)),
    )
  }

  /**
   * The main thread's effects: with `usage` (split), the CPU and wall time of this
   * profile's spans, as a pooled worker reports them; else the whole thread's in the
   * window. Event-loop utilization is the thread's, as in workers.
   */
  mainEffects(endNs, usage) {
    const custom = this.custom.map((e) => ({ ...e, data: deserialize(e.data) }))
    const elu = performance.eventLoopUtilization(this.mainElu0)
    // An unprofiled main thread has no CPU clock to read.
    if (this.thread(0).unprofiled !== null) return { eventLoopUtilization: elu, custom }
    if (this.split) usage ??= { cpuNs: 0, wallUs: 0 }
    return {
      cpuTimeNs: usage
        ? BigInt(Math.max(0, Math.round(usage.cpuNs)))
        : native.threadCpuTime() - this.mainCpu0,
      wallTimeNs: usage
        ? BigInt(Math.max(0, Math.round(usage.wallUs * 1000)))
        : endNs - this.startNs,
      eventLoopUtilization: elu,
      custom,
    }
  }

  threadReports(profileOf) {
    return (
      [...this.threads.values()]
        // Without the addon here no profile can be built at all.
        .map((t) => ({ t, profile: addon() === null ? null : profileOf(t) }))
        .map(({ t, profile }) => ({
          threadId: t.threadId,
          name: t.name,
          status: t.errors.length
            ? 'crashed'
            : t.unprofiled !== null
              ? 'unprofiled'
              : t.exitCode !== null
                ? 'exited'
                : t.timedOut
                  ? 'timeout'
                  : 'ok',
          exitCode: t.exitCode,
          profile,
          effects: {
            ...(t.effects ?? {}),
            // Time this thread's profile charges to profiled-worker's own work.
            ...(profile === null ? {} : { profilerTimeNs: usToNs(profile.charged.ownUs) }),
            errors: t.errors,
          },
          dropped: { ...t.dropped },
          failures: { ...t.failures },
          ...(t.unprofiled === null ? {} : { error: t.unprofiled }),
        }))
        .sort((a, b) => a.threadId - b.threadId)
    )
  }

  async finish() {
    this.state = 'stopping'
    const endNs = process.hrtime.bigint()
    const t1 = nowUs()
    // Workers first: their stops travel and run while this thread cuts its own sampler.
    const stopped = Promise.all([...this.workers].map((w) => w[kLink].stop(this)))
    if (this.mainThread) {
      const removed = hub.sampler.remove(this.id) // its last cut takes its last spans
      const usage = this.split ? mainThread.leave(this) : null
      await removed
      this.thread(0).effects = this.mainEffects(endNs, usage)
      Object.assign(this.thread(0).failures, failuresSince(this.mainFailures0))
    }
    const results = await stopped
    for (const r of results) this.markTimedOut(r.timedOut)
    this.close()

    const profiles = new Map()
    if (addon() !== null) {
      await Promise.all(
        [...this.threads.values()].map(async (t) => {
          let profile
          try {
            profile = await assemble(await parsedChunks(t), this.t0, t1, t.spans, this.intervalUs)
          } catch (err) {
            // Chunks that parse but do not join (forged timestamps): this thread's samples
            // are lost, counted, and the rest of the report stands.
            debug('thread %d: its chunks could not be assembled: %s', t.threadId, err)
            countIn(t.failures, 'assembly')
            profile = emptyProfile(this.t0, t1)
          }
          profiles.set(t, profile)
        }),
      )
    }
    return this.report(
      endNs,
      this.threadReports((t) => profiles.get(t)),
    )
  }

  // Over here: no worker works for it any more, and nothing is routed to it.
  close() {
    this.state = 'stopped'
    this.workers.clear()
    hub.sessions.delete(this.id)
    tell('stopped', this)
  }

  report(endNs, threads) {
    return new ProfileReport({
      id: this.asyncId,
      name: this.name,
      startNs: this.startNs,
      endNs,
      threads,
    })
  }
}

module.exports = { ProfileSession, observers }
