'use strict'
// Which requests each thread's samples worked for, during continuous profiling. A request
// is any profile the app starts (startProfile, runProfile), named for its endpoint.
//
// In a worker, a request's time is its task spans (worker/tasks.js), which reach its
// session with each chunk. A worker that belongs to the request whole (made in its
// context) has no spans: all of its time in the request's window is the request's. On the
// main thread a profile takes the whole thread for its window; where requests' windows
// overlap there, nothing tells whose code ran, so those stretches carry no request label.

const { nowUs } = require('../util/clock')
const { activeLink } = require('./trace')

class RequestLog {
  constructor() {
    this.open = new Map() // session id → record, while the request runs
    this.done = [] // records of requests that stopped, until a period has taken them
  }

  started(session) {
    this.open.set(session.id, {
      session,
      id: session.id,
      name: session.name,
      t0: session.t0,
      t1: null,
      link: activeLink(),
      threads: null, // at stop: threadId → spans (null: the whole window)
    })
  }

  stopped(session) {
    const r = this.open.get(session.id)
    if (!r) return
    this.open.delete(session.id)
    if (session.scoped) return // a period of our own, not a request
    r.t1 = nowUs()
    r.threads = threadSpans(session)
    r.mainThread = session.mainThread
    r.session = null // its chunks are the app's to free
    this.done.push(r)
  }

  /**
   * Every request that ran during [t0, t1]: those stopped (and forgotten here once taken,
   * when they ended before t1), and those still running, as of now.
   */
  take(t0, t1) {
    const out = []
    const keep = []
    for (const r of this.done) {
      if (r.t1 >= t0) out.push(r)
      if (r.t1 > t1) keep.push(r)
    }
    this.done = keep
    for (const r of this.open.values()) {
      if (r.session.scoped) continue
      out.push({
        ...r,
        t1: Infinity,
        threads: threadSpans(r.session),
        mainThread: r.session.mainThread,
      })
    }
    return out.sort((a, b) => a.id - b.id)
  }
}

function threadSpans(session) {
  const m = new Map()
  for (const t of session.threads.values()) {
    if (t.threadId === 0) continue
    m.set(t.threadId, t.spans === null ? null : [...t.spans])
  }
  return m
}

/**
 * Main-thread spans of each request in [t0, t1]: its window where no other request's
 * overlaps it. Inclusive integer µs, so that neighbouring pieces share no sample.
 * @returns {Map<object, number[]>}
 */
function mainThreadSpans(requests, t0, t1) {
  const windows = requests
    .filter((r) => r.mainThread)
    .map((r) => ({ r, a: Math.max(Math.ceil(r.t0), t0), b: Math.min(Math.floor(r.t1), t1) }))
    .filter((w) => w.a <= w.b)
  const cuts = [...new Set(windows.flatMap((w) => [w.a, w.b + 1]))].sort((x, y) => x - y)
  const out = new Map()
  for (let k = 0; k + 1 < cuts.length; k++) {
    const [a, b] = [cuts[k], cuts[k + 1] - 1]
    const covering = windows.filter((w) => w.a <= a && b <= w.b)
    if (covering.length !== 1) continue
    const r = covering[0].r
    if (!out.has(r)) out.set(r, [])
    out.get(r).push(a, b)
  }
  return out
}

module.exports = { RequestLog, mainThreadSpans }
