'use strict'
// V8's sampler through an inspector session on this thread (every Node version).
//
// Profiler.stop followed by Profiler.start lets V8's profiler go idle in between, and V8
// then tears down and rebuilds its code map and sampling thread: milliseconds of
// synchronous work per cut. Keeping a second profile running across the stop and start
// keeps the profiler alive and costs a fraction of a millisecond. The protocol has only
// one Profiler.start per session, but console.profile(title) starts a titled profile in
// every session whose Profiler domain is enabled, and console.profileEnd(title) stops it
// and sends Profiler.consoleProfileFinished; so a cut is
//   console.profile(bridge), Profiler.stop, Profiler.start, console.profileEnd(bridge).
// The stretches themselves stay Profiler.start profiles: a console profile of ours left
// running between cuts would be the "last started" one that a user's untitled
// console.profileEnd() ends, in our session and in the user's own. The bridge never
// outlives the synchronous cut, so no user code sees it running.
//
// The bridge holds the samples V8 took between the stop and the start, which no stretch
// has: it goes on as a chunk of its own, and chunk tiling (chunk.js) drops what it
// shares with its neighbours. Where the session answers later (another inspector client
// holds the agent) the cut is a plain stop and start, and the bridge is dropped.
//
// A user session with the Profiler domain enabled (DevTools) sees each bridge as a short
// console profile of its own, titled "profiled-worker:…".

let nextTitle = 1
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const { nodeFlagWords } = require('../../util/node-flags')
const debug = require('node:util').debuglog('profiled-worker')

// Node's own inspector clients for --cpu-prof and NODE_V8_COVERAGE (c8 and other coverage
// tools) enable the Profiler domain too, and write "Cannot retrieve id from the response
// message" and the whole event to stderr for every console profile they did not start:
// two messages per bridge, every second on every thread. With them, no bridge (and so no
// rotation): cuts are plain stops and starts.
function nodeProfilerClient() {
  if (process.env.NODE_V8_COVERAGE) return true
  return nodeFlagWords().some((f) => f === '--cpu-prof' || f.startsWith('--cpu-prof='))
}

class InspectorSampling {
  constructor() {
    this.session = null
    this.intervalUs = 0
    this.running = false
    // Whether a bridge comes back at once here: unknown (null) until the first cut.
    this.overlapping = nodeProfilerClient() ? false : null
    this.bridge = null // { title, profile } during a cut
    this.errors = 0
  }

  // A same-thread session answers synchronously, except while another inspector client
  // (a DevTools or NodeWorker session being attached) holds the agent, when the answer
  // comes a little later. Both are handled; nothing here may throw into user code.
  call(method, params, onAnswer) {
    this.session.post(method, params, (err, res) => {
      if (err) {
        this.errors++
        debug('inspector: %s failed: %s', method, err.message)
      }
      onAnswer?.(err, res)
    })
  }

  connect() {
    // Loaded on first use: a thread that is never profiled never loads the inspector.
    const inspector = require('node:inspector')
    // V8's own console (the one the global console forwards profile calls to): user code
    // that replaces console or its methods does not reach it.
    this.profile = inspector.console.profile
    this.profileEnd = inspector.console.profileEnd
    // Kept only once connected: where the inspector is not allowed (the permission model)
    // connect() throws, and that error, not a later "not connected", is the one to report.
    const session = new inspector.Session()
    session.connect()
    this.session = session
    // Other titles are users' own console profiles.
    this.session.on('Profiler.consoleProfileFinished', ({ params }) => {
      if (this.bridge !== null && params.title === this.bridge.title) {
        this.bridge.profile = params.profile
      }
    })
    this.call('Profiler.enable')
  }

  /** Whether a cut at `intervalUs` keeps V8's profiler running. */
  canCut(intervalUs) {
    return this.running && this.overlapping !== false && intervalUs === this.intervalUs
  }

  start(intervalUs) {
    if (!this.session) this.connect()
    // V8 fixes the interval when its profiler starts (and refuses a change while it runs).
    this.intervalUs = intervalUs
    this.call('Profiler.setSamplingInterval', { interval: intervalUs })
    this.call('Profiler.start')
    this.running = true
  }

  /** The running stretch ends and the next begins; deliver([profile, bridge?] | null). */
  cut(deliver) {
    const bridge = { title: newTitle(), profile: null }
    this.bridge = bridge
    let returned = false
    let stretch // undefined until Profiler.stop answers
    try {
      Reflect.apply(this.profile, undefined, [bridge.title])
      this.call('Profiler.stop', undefined, (err, res) => {
        stretch = (!err && res?.profile) || null
        if (returned) deliver([stretch])
      })
      this.call('Profiler.start')
      Reflect.apply(this.profileEnd, undefined, [bridge.title])
    } finally {
      this.bridge = null
      returned = true
    }
    this.overlapping = bridge.profile !== null
    if (stretch !== undefined) deliver(bridge.profile ? [stretch, bridge.profile] : [stretch])
  }

  stop(deliver) {
    this.running = false
    this.call('Profiler.stop', undefined, (err, res) => deliver([(!err && res?.profile) || null]))
  }

  close() {
    if (!this.session) return
    const session = this.session
    this.session = null
    this.running = false
    session.post('Profiler.disable', () => session.disconnect())
  }
}

// Titles are ours alone: a user's console.profileEnd(title) must never match one.
function newTitle() {
  return `profiled-worker:${process.pid}:${nextTitle++}`
}

module.exports = { InspectorSampling }
