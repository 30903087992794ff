'use strict'
// One V8 sampler per thread, shared by every profile active on that thread.
//
// Sampling runs in stretches. Each stretch ends at a profile boundary (and every
// ROTATE_MS while sampling goes on) and goes to `onChunk` with the ids of the profiles
// active during it; each profile later keeps the part of each chunk inside its own time
// window. Chunk timestamps are on the process.hrtime clock (µs), which that windowing
// and the task spans of worker/tasks.js rely on, and chunks tile time (chunk.js).
//
// V8 is reached through v8.startCpuProfile() handles where Node has them and they sample
// at the interval wanted (sampler/v8-handles.js), else through an inspector session on
// this thread (sampler/inspector.js). Both answer synchronously, so a start is in force
// when `add` returns.

const { InspectorSampling } = require('./inspector')
const { HandleSampling } = require('./v8-handles')
const chunk = require('./chunk')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

// While sampling goes on, the stretch is cut this often even when no profile starts or
// stops. Ending a stretch is synchronous work in proportion to its samples (V8 builds the
// profile, then it is serialized), so without this a long profile's stop blocks its
// thread for a long time at the end. A cut that keeps V8's profiler running is a small
// fraction of a millisecond, so once a second it is a tiny share of the thread; each chunk
// repeats the tree of the code it sampled, so much shorter would multiply what a long
// profile holds until it stops (bench/ measures both).
const ROTATE_MS = 1000

class ThreadSampler {
  /**
   * @param onChunk (json, ids, spans) for each stretch of samples
   * @param cutOnJoin cut when a profile joins. Needed where a start can arrive late (a
   *   worker busy for another profile when the start was sent), so the stretch before the
   *   join is not counted for it. Not on the main thread, where a profile starts exactly
   *   at its window's start.
   * @param linger when the last profile stops, keep V8's profiler running until the next
   *   turn of the event loop (see advance). Not in workers: a worker is often terminated
   *   right after its profile stops, and it must never be terminated while sampling.
   */
  constructor(onChunk, { cutOnJoin, linger }) {
    this.onChunk = onChunk
    this.cutOnJoin = cutOnJoin
    this.linger = linger
    this.active = new Map() // profile id → sampling interval (µs)
    this.backend = null // InspectorSampling or HandleSampling, while sampling
    this.intervalUs = 0
    this.running = false
    this.timer = null
    this.closing = null // the immediate that stops sampling once no profile is left
    this.lastUs = -Infinity // timestamp of the last sample delivered
    this.failures = 0
    this.inspectorErrors = 0 // of backends already closed (see counters)
    // Worker: the TaskTracker whose spans go with each chunk (see worker/tasks.js).
    this.tracker = null
    // Worker: runs the sampler's own cuts (the rotation) as one of the runtime's
    // operations, which the parent's interrupt must not re-enter (worker/runtime.js).
    this.exclusive = (fn) => fn()
    // Worker: after each rotation, sends every profile's effects so far, so that a death
    // no listener sees (out of memory) loses at most one rotation's worth (worker/index.js).
    this.afterRotate = null
  }

  has(id) {
    return this.active.has(id)
  }

  /** What this thread's sampling swallowed so far, for the reports (`failures`). */
  counters() {
    return {
      sampler: this.failures,
      inspector: this.inspectorErrors + (this.backend?.errors ?? 0),
    }
  }

  add(id, intervalUs) {
    if (this.active.has(id)) return
    const ids = [...this.active.keys()]
    this.active.set(id, intervalUs)
    // Lingering after the last profile stopped (see advance) counts as not running.
    if (!this.running || this.closing !== null) this.begin()
    // Cut before `id` joins (see cutOnJoin), and for a finer interval, which V8 fixes
    // when sampling starts.
    else if (this.cutOnJoin || intervalUs < this.intervalUs) this.advance(ids)
  }

  /** Resolves once the chunk that ends here has been delivered (usually at once). */
  remove(id) {
    if (!this.active.has(id)) return settledPromise()
    const ids = [...this.active.keys()]
    this.active.delete(id)
    return this.advance(ids)
  }

  removeAll() {
    if (this.active.size === 0) return settledPromise()
    const ids = [...this.active.keys()]
    this.active.clear()
    return this.advance(ids)
  }

  begin() {
    const intervalUs = Math.min(...this.active.values())
    if (this.closing !== null) {
      // Still sampling after the last profile (see advance): at the same interval, go
      // on from here, dropping what was sampled for nobody.
      clearImmediate(this.closing)
      this.closing = null
      if (intervalUs === this.intervalUs && this.backend.canCut(intervalUs)) {
        this.backend.cut(() => {})
        if (this.backend.canCut(intervalUs)) return
      }
      this.backend.stop(() => {})
    }
    this.intervalUs = intervalUs
    const Backend = HandleSampling.usableFor(this.intervalUs) ? HandleSampling : InspectorSampling
    if (!(this.backend instanceof Backend)) {
      this.closeBackend()
      this.backend = new Backend()
    }
    try {
      this.backend.start(this.intervalUs)
    } catch (err) {
      // V8 refused a handle (too many profiles on this thread): the inspector it is.
      this.failures++
      debug('sampler: V8 refused a profile handle, using the inspector: %s', err)
      this.closeBackend()
      this.backend = new InspectorSampling()
      this.backend.start(this.intervalUs)
    }
    this.running = true
    // unref'd: sampling never keeps a process or worker alive.
    this.timer ??= setInterval(() => this.rotate(), ROTATE_MS).unref()
  }

  /**
   * The running stretch goes to onChunk with `ids`, the profiles active during it; then
   * sampling goes on for the profiles active now, if any, without V8's profiler going
   * idle where the interval stays. The returned promise resolves once the chunk has been
   * delivered; `settled` says whether that already happened when this returned.
   */
  advance(ids) {
    if (!this.running) {
      if (this.active.size === 0) this.close()
      return settledPromise()
    }
    const want = this.active.size > 0 ? Math.min(...this.active.values()) : 0
    const { delivered, deliver } = this.delivery(ids)
    // A cut where the interval stays. Also for the last profile out where `linger`: a
    // final stop makes V8 tear its profiler down (synchronous, and slow) in the middle of
    // the stop, so the stretch goes with a cut and the teardown runs in an immediate.
    const goOn = want === this.intervalUs || (this.linger && want === 0)
    try {
      if (goOn && this.backend.canCut(this.intervalUs)) {
        this.backend.cut(deliver)
        if (!this.backend.canCut(this.intervalUs)) {
          this.running = false
        } else if (want === 0) {
          this.closing = setImmediate(() => {
            this.closing = null
            this.close()
          })
          return delivered
        }
      } else {
        this.running = false
        this.backend.stop(deliver)
      }
    } catch (err) {
      this.failures++
      debug('sampler: a cut failed, its stretch is lost: %s', err)
      this.running = false
      deliver(null)
    }
    if (want === 0) this.close()
    else if (!this.running) this.begin()
    return delivered
  }

  rotate() {
    if (!this.running || this.active.size === 0 || !this.backend.canCut(this.intervalUs)) return
    this.exclusive(() => this.advance([...this.active.keys()]))
    this.afterRotate?.()
  }

  /** The spans of `ids` up to now, and the function that hands the stretch on with them. */
  delivery(ids) {
    const early = this.tracker?.take(ids)
    let resolve
    /** @type {Promise<void> & { settled?: boolean }} */
    const delivered = new Promise((r) => (resolve = r))
    delivered.settled = false
    // Each piece in order (pieces of one stretch share its ids; its spans go once).
    const deliver = (pieces) => {
      // The spans again once V8 has handed the stretch over: the stop or cut itself is
      // time the thread worked for these profiles (our own work, which the report names),
      // and effects.wallTimeNs counts it too.
      const spans = withLater(early, this.tracker?.take(ids))
      let first = true
      for (const raw of pieces ?? []) {
        try {
          if (!raw) continue
          const c =
            typeof raw.json === 'string'
              ? chunk.fromJson(raw.json, raw.offsetUs, this.lastUs)
              : chunk.fromObject(raw, this.lastUs)
          this.lastUs = c.lastUs
          // A later piece (an inspector cut's bridge) left empty by tiling adds nothing.
          if (!first && c.samples === 0) continue
          this.onChunk(c.json, ids, first ? spans : undefined)
          first = false
        } catch (err) {
          this.failures++
          debug('sampler: a stretch could not be made a chunk, it is lost: %s', err)
        }
      }
      delivered.settled = true
      resolve()
    }
    return { delivered, deliver }
  }

  close() {
    if (this.closing !== null) clearImmediate(this.closing)
    this.closing = null
    clearInterval(this.timer)
    this.timer = null
    this.running = false
    this.closeBackend()
    this.backend = null
  }

  closeBackend() {
    this.inspectorErrors += this.backend?.errors ?? 0
    this.backend?.close()
  }
}

/** Per-profile flat spans `a`, followed by those of `b`. */
function withLater(a, b) {
  if (a === undefined || b === undefined) return a ?? b
  const out = { ...a }
  for (const [id, spans] of Object.entries(b)) out[id] = out[id] ? out[id].concat(spans) : spans
  return out
}

function settledPromise() {
  return Object.assign(Promise.resolve(), { settled: true })
}

module.exports = { ThreadSampler, ROTATE_MS }
