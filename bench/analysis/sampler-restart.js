'use strict'
// What a sampler "cut" costs on the thread that runs it: Profiler.stop + Profiler.start
// (what lib/thread/sampler/index.js does today) against overlapping two profiles on the same inspector
// session (inspector.console.profile(next), then profileEnd(current)), which keeps V8's
// profiler running so it never rebuilds its code map.
//
//   node bench/analysis/sampler-restart.js

const inspector = require('node:inspector')
const { performance } = require('node:perf_hooks')
require('../..') // a heap like an app's that loaded us

const session = new inspector.Session()
session.connect()
const post = (method, params) => {
  let out
  session.post(method, params, (err, res) => {
    if (err) throw err
    out = res
  })
  return out
}
let finished = null
session.on('Profiler.consoleProfileFinished', ({ params }) => (finished = params))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const ms = (t0) => (performance.now() - t0).toFixed(2)

;(async () => {
  post('Profiler.enable')
  post('Profiler.setSamplingInterval', { interval: 1000 })
  post('Profiler.start')
  for (let i = 0; i < 5; i++) {
    await sleep(250)
    let t0 = performance.now()
    const { profile } = post('Profiler.stop')
    const stop = ms(t0)
    t0 = performance.now()
    post('Profiler.setSamplingInterval', { interval: 1000 })
    post('Profiler.start')
    console.log(
      `stop + start: stop ${stop} ms (${profile.samples.length} samples), start ${ms(t0)} ms`,
    )
  }
  post('Profiler.stop')
  inspector.console.profile('cut-0')
  for (let i = 1; i <= 5; i++) {
    await sleep(250)
    let t0 = performance.now()
    inspector.console.profile(`cut-${i}`)
    const start = ms(t0)
    t0 = performance.now()
    inspector.console.profileEnd(`cut-${i - 1}`)
    console.log(
      `overlapping console profiles: start ${start} ms, end ${ms(t0)} ms ` +
        `(${finished?.profile.samples.length} samples in ${finished?.title})`,
    )
  }
  inspector.console.profileEnd('cut-5')
})()
