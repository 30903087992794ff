'use strict'
// One V8 sampler per thread, shared by every profile active on that thread.
//
// V8's sampler is reached through an inspector session on the same thread, whose
// `post` answers synchronously, so a start is in force when `add` returns. The sampler
// is stopped and restarted at every profile boundary; each stretch ("chunk") goes to
// `onChunk` with the ids of the profiles active during it, and each profile later keeps
// the part of each chunk inside its own time window.

class ThreadSampler {
  /**
   * @param onChunk (json, ids) for each stretch of samples
   * @param cutOnJoin cut when a profile joins. Needed where a start can arrive late (a
   *   worker busy for another profile when the start was sent), so the stretch before the
   *   join is not counted for it. Not on the main thread, where a profile starts exactly
   *   at its window's start and cutting would stringify a long-running profile's samples
   *   on the main thread at every new profile.
   */
  constructor(onChunk, { cutOnJoin }) {
    this.onChunk = onChunk
    this.cutOnJoin = cutOnJoin
    this.active = new Map() // profile id → sampling interval (µs)
    this.session = null
    this.intervalUs = 0
    this.running = false
    this.errors = 0
    // Worker: the TaskTracker whose spans go with each chunk (see runtime/tasks.js).
    this.tracker = null
  }

  // A same-thread session answers synchronously, except while another inspector client
  // (a DevTools or NodeWorker session being attached) holds the agent, when the answer
  // comes a little later. Both are handled; nothing here may throw into user code.
  call(method, params, onAnswer) {
    this.session.post(method, params, (err, res) => {
      if (err) this.errors++
      onAnswer?.(err, res)
    })
  }

  has(id) {
    return this.active.has(id)
  }

  add(id, intervalUs) {
    if (this.active.has(id)) return
    // Cut before `id` joins (see cutOnJoin), and for a finer interval, which V8 fixes
    // when sampling starts.
    if (this.cutOnJoin || (this.running && intervalUs < this.intervalUs)) this.cut()
    this.active.set(id, intervalUs)
    if (!this.running) this.begin()
  }

  /** Resolves once the chunk that ends here has been delivered (usually at once). */
  remove(id) {
    if (!this.active.has(id)) return settledPromise()
    const delivered = this.cut()
    this.active.delete(id)
    if (this.active.size > 0) this.begin()
    else this.close()
    return delivered
  }

  removeAll() {
    if (this.active.size === 0) return settledPromise()
    const delivered = this.cut()
    this.active.clear()
    this.close()
    return delivered
  }

  begin() {
    if (!this.session) {
      // Loaded on first use: a thread that is never profiled never loads the inspector.
      const { Session } = require('node:inspector')
      this.session = new Session()
      this.session.connect()
      this.call('Profiler.enable')
    }
    this.intervalUs = Math.min(...this.active.values())
    this.call('Profiler.setSamplingInterval', { interval: this.intervalUs })
    this.call('Profiler.start')
    this.running = true
  }

  /**
   * Stop sampling; the stretch goes to onChunk, synchronously when the inspector answers
   * synchronously. The returned promise resolves once it has; `settled` says whether
   * that already happened when cut() returned.
   */
  cut() {
    if (!this.running) return settledPromise()
    this.running = false
    const ids = [...this.active.keys()]
    const spans = this.tracker?.take(ids)
    let resolve
    const delivered = new Promise((r) => (resolve = r))
    delivered.settled = false
    this.call('Profiler.stop', undefined, (err, res) => {
      if (!err && res && res.profile) this.onChunk(JSON.stringify(res.profile), ids, spans)
      delivered.settled = true
      resolve()
    })
    return delivered
  }

  close() {
    if (!this.session) return
    const session = this.session
    this.session = null
    session.post('Profiler.disable', () => session.disconnect())
  }
}

function settledPromise() {
  return Object.assign(Promise.resolve(), { settled: true })
}

function nowUs() {
  return Number(process.hrtime.bigint() / 1000n)
}

module.exports = { ThreadSampler, nowUs }
