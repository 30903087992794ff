'use strict'
// V8's sampler through v8.startCpuProfile() (Node 24.12 and ≥ 25.0; feature-detected, not gated on a version): each call
// starts a profile on V8's profiler and returns a handle whose stop() returns its JSON
// synchronously. Several can run at once, so a cut starts the next before stopping the
// current one and V8's profiler never goes idle; and it needs no inspector session, so
// nothing here meets a user's own inspector or DevTools use.
//
// Two limits decide when it is used (see ThreadSampler):
// - It takes no options: it samples at V8's --cpu-profiler-sampling-interval, 1000 µs
//   unless that V8 flag is given. Used only for that interval, and not at all when the
//   flag appears in execArgv or NODE_OPTIONS (v8.setFlagsFromString cannot be seen).
// - Node writes startTime and endTime cut to 32 bits: they are the process.hrtime clock
//   in µs modulo 2³² (hrtime − startTime is a multiple of 2³² µs, to within the time the
//   call takes to read its clock). The offset back to hrtime is the multiple of 2³²
//   that puts startTime inside the hrtime interval read around the start call; if no
//   multiple does (another layout in some future Node), the offset is the measured one,
//   off by at most that interval.

const { nodeFlagWords } = require('../../util/node-flags')
const { TWO_32 } = require('./chunk')
const { exactNowUs } = require('../../util/clock')

const V8_DEFAULT_INTERVAL_US = 1000
// Slack (µs) around the start call within which a 2³² multiple is taken as the offset.
const SNAP_SLACK_US = 1000

let v8
function startCpuProfile() {
  v8 ??= require('node:v8')
  return v8.startCpuProfile()
}

function intervalFlagGiven() {
  return nodeFlagWords().some((w) => /cpu[-_]profiler[-_]sampling[-_]interval/.test(w))
}

let usableInterval // µs V8 handles sample at, or 0 where they are not to be used
function handleIntervalUs() {
  v8 ??= require('node:v8')
  usableInterval ??=
    typeof v8.startCpuProfile === 'function' && !intervalFlagGiven() ? V8_DEFAULT_INTERVAL_US : 0
  return usableInterval
}

class HandleSampling {
  constructor() {
    this.current = null // { handle, before, after }: hrtime µs around its start call
    this.errors = 0 // V8's handles report no failures of their own (see InspectorSampling)
  }

  static usableFor(intervalUs) {
    return intervalUs === handleIntervalUs()
  }

  canCut() {
    return this.current !== null
  }

  open() {
    const before = exactNowUs()
    const handle = startCpuProfile()
    return { handle, before, after: exactNowUs() }
  }

  /** Throws if V8 refuses (e.g. ERR_CPU_PROFILE_TOO_MANY): the owner then falls back. */
  start() {
    this.current = this.open()
  }

  /** deliver([{ json, offsetUs }]) */
  cut(deliver) {
    let next
    try {
      next = this.open()
    } catch {
      next = null // cannot overlap: the stretch ends and sampling stops (owner restarts)
    }
    this.end(this.current, deliver)
    this.current = next
  }

  stop(deliver) {
    const current = this.current
    this.current = null
    this.end(current, deliver)
  }

  end(stretch, deliver) {
    if (stretch === null) return deliver(null)
    const json = stretch.handle.stop()
    deliver([{ json, offsetUs: offsetOf(json, stretch) }])
  }

  /** Ends sampling; a stretch still running is dropped unread. */
  close() {
    const current = this.current
    this.current = null
    if (current === null) return
    try {
      // Discards without building the profile; stop() where dispose is missing.
      const dispose = current.handle[Symbol.dispose]
      if (typeof dispose === 'function') Reflect.apply(dispose, current.handle, [])
      else current.handle.stop()
    } catch {
      // Already stopped: nothing to end.
    }
  }
}

function offsetOf(json, { before, after }) {
  const m = /,"startTime":(-?\d+)/.exec(json.slice(json.lastIndexOf(',"startTime":')))
  if (!m) return 0
  const start = Number(m[1])
  const measured = Math.round(before - start)
  const snapped = Math.round(measured / TWO_32) * TWO_32
  const at = start + snapped
  return at >= before - SNAP_SLACK_US && at <= after + SNAP_SLACK_US ? snapped : measured
}

module.exports = { HandleSampling, offsetOf, V8_DEFAULT_INTERVAL_US }
