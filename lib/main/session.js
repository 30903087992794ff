'use strict'
// A profile on the main thread: its time window, the workers it involves, and the data
// that flows home for it, assembled into a ProfileReport when it stops.

const { performance } = require('node:perf_hooks')
const native = require('../util/native')
const hub = require('../thread/hub')
const { nowUs } = require('../thread/sampler')
const { deserialize } = require('../util/json')
const { ProfileReport } = require('./report')
const { MAIN_THREAD_NAME, kLink, build } = require('../protocol')

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

/**
 * Chunks of one thread (promises of parsed CpuProfiles, see hub.js) → one profile of the
 * window [t0, t1], limited to the thread's spans for the session when it sent any (a
 * worker), built off the JS thread.
 */
async function assemble(chunks, t0, t1, spans) {
  if (chunks.length === 0) return emptyProfile(t0, t1)
  return native.CpuProfile.assembleParsedAsync(
    await Promise.all(chunks),
    t0,
    t1,
    spans === null ? undefined : Float64Array.from(spans),
  )
}

/** `assemble`, synchronously, on the JS thread (see ProfileSession.stopNow). */
function assembleNow(chunks, t0, t1) {
  let joined = null
  for (const c of chunks) {
    let part
    try {
      part = (c.value ?? native.CpuProfile.parse(c.json)).window(t0, t1)
    } catch {
      continue // a chunk that does not parse is left out, as the async path fails it
    }
    joined = joined === null ? part : joined.concat(part)
  }
  return joined ?? emptyProfile(t0, t1)
}

// Routing key of a session: unique for the process, unlike async ids, which a context
// keeps when it profiles again (late data for an old profile must not reach a new one).
let nextKey = 1

/** A profile on the main thread. @implements {SessionLike} (lib/protocol.js) */
class ProfileSession {
  constructor(asyncId, name, options) {
    this.id = nextKey++
    this.asyncId = asyncId
    this.name = name
    this.intervalUs = options.samplingIntervalUs
    this.mainThread = options.mainThread
    this.stopTimeoutMs = options.stopTimeoutMs
    this.state = 'active'
    this.startNs = process.hrtime.bigint()
    this.t0 = nowUs()
    this.workers = new Set()
    this.threads = new Map()
    this.custom = [] // recordEffect() calls on the main thread
    this.done = null
    hub.sessions.set(this.id, this)
    if (this.mainThread) {
      const main = this.thread(0, MAIN_THREAD_NAME)
      this.mainElu0 = performance.eventLoopUtilization()
      const { binding, error } = native.tryLoad()
      try {
        if (error !== null) throw error
        this.mainCpu0 = binding.threadCpuTime()
        hub.sampler.add(this.id, this.intervalUs)
      } catch (err) {
        hub.sampler.remove(this.id)
        main.unprofiled = errorInfo(err)
      }
    }
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

  /** @param {number[]} threadIds */
  markTimedOut(threadIds) {
    for (const id of threadIds) this.thread(id).timedOut = true
  }

  addChunk(threadId, name, chunk, spans) {
    const t = this.thread(threadId, name)
    t.chunks.push(chunk)
    if (Array.isArray(spans) && spans.every(Number.isFinite)) {
      t.spans ??= []
      for (const v of spans) t.spans.push(v)
    }
  }

  setEffects(threadId, name, text) {
    const effects = deserialize(text)
    // recordEffect() data was serialized where it was recorded (so bad data fails there).
    effects.custom = (effects.custom ?? []).map((e) => ({ ...e, data: deserialize(e.data) }))
    this.thread(threadId, name).effects = effects
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

  /** Thread 0's effects at the stop: its CPU time only where it was profiled. */
  mainEffects(endNs) {
    const custom = this.custom.map((e) => ({ ...e, data: deserialize(e.data) }))
    const elu = performance.eventLoopUtilization(this.mainElu0)
    if (this.thread(0).unprofiled !== null) return { eventLoopUtilization: elu, custom }
    return {
      cpuTimeNs: native.threadCpuTime() - this.mainCpu0,
      wallTimeNs: endNs - this.startNs,
      eventLoopUtilization: elu,
      custom,
    }
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
   * have status 'timeout'. Chunks are cut to the window only, not to a pooled worker's
   * spans (the native span cut has no synchronous form).
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
      this.thread(0).effects = this.mainEffects(endNs)
    }
    let open = waiting
    while (open.length > 0 && performance.now() < deadline) open = open.filter((w) => !w.poll())
    for (const w of open) this.thread(w.threadId).timedOut = true
    this.state = 'stopped'
    this.workers.clear()
    hub.sessions.delete(this.id)
    return new ProfileReport({
      id: this.asyncId,
      name: this.name,
      startNs: this.startNs,
      endNs,
      threads: this.threadReports((t) => assembleNow(t.chunks, this.t0, t1)),
    })
  }

  threadReports(profileOf) {
    return [...this.threads.values()]
      .map((t) => ({
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
        // Without the addon here no profile can be built at all.
        profile: addon() === null ? null : profileOf(t),
        effects: { ...(t.effects ?? {}), errors: t.errors },
        ...(t.unprofiled === null ? {} : { error: t.unprofiled }),
      }))
      .sort((a, b) => a.threadId - b.threadId)
  }

  async finish() {
    this.state = 'stopping'
    const endNs = process.hrtime.bigint()
    const t1 = nowUs()
    // Workers first: their stops travel and run while this thread cuts its own sampler.
    const stopped = Promise.all([...this.workers].map((w) => w[kLink].stop(this)))
    if (this.mainThread) {
      await hub.sampler.remove(this.id)
      this.thread(0).effects = this.mainEffects(endNs)
    }
    const results = await stopped
    for (const r of results) this.markTimedOut(r.timedOut)
    this.state = 'stopped'
    this.workers.clear()
    hub.sessions.delete(this.id)

    const profiles = new Map()
    if (addon() !== null) {
      await Promise.all(
        [...this.threads.values()].map(async (t) =>
          profiles.set(t, await assemble(t.chunks, this.t0, t1, t.spans)),
        ),
      )
    }
    const threads = this.threadReports((t) => profiles.get(t))
    return new ProfileReport({
      id: this.asyncId,
      name: this.name,
      startNs: this.startNs,
      endNs,
      threads,
    })
  }
}

module.exports = { ProfileSession }
