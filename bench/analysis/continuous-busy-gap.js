'use strict'
// A known gap of continuous profiling (README, Limitations): a period that starts while a
// worker is busy in one long synchronous task joins it only at the worker's next turn of
// its event loop, so the samples from the period's start to the task's end reach no
// period (the request's own profile has them). One 1.5 s task across 300 ms periods, both
// sampled at 1 ms: prints the worker's samples in the request's report and in the periods.
//
//   node bench/analysis/continuous-busy-gap.js

const path = require('node:path')
const pw = require(path.resolve(__dirname, '..', '..'))
const { Worker } = require('node:worker_threads')

const SPIN = path.resolve(
  __dirname,
  '..',
  '..',
  '__test__',
  'fixtures',
  'continuous',
  'spin-worker.js',
)
const ask = (w, ms) =>
  new Promise((resolve) => {
    w.once('message', resolve)
    w.postMessage({ ms })
  })

/** Samples of `profile` taken in spinFor (the task). */
function spinSamples(profile) {
  let n = 0
  for (const line of profile.toCollapsed().split('\n'))
    if (line.includes('spinFor')) n += Number(line.slice(line.lastIndexOf(' ') + 1))
  return n
}

async function main() {
  const w = new Worker(SPIN)
  const id = w.threadId
  let inPeriods = 0
  const h = pw.startContinuous({
    periodMs: 300,
    samplingIntervalUs: 1000,
    onPeriod: (r) => {
      const t = r.thread(id)
      if (t) inPeriods += spinSamples(t.profile)
    },
  })
  await ask(w, 0)
  const { report } = await pw.runProfile(() => ask(w, 1500), {
    name: 'busy',
    samplingIntervalUs: 1000,
  })
  await new Promise((r) => setTimeout(r, 400))
  await w.terminate()
  await h.stop()
  const own = spinSamples(report.thread(id).profile)
  console.log(`the task's samples: ${own} in the request's report, ${inPeriods} in the periods`)
}

main()
