'use strict'
// Scenario 6: how the cost grows with the number of workers one profile covers. 1, 2, 8
// and 32 workers run fib tasks in the same window (workers/fib.js, 'go' mode), once
// unprofiled and once inside one profile (defaults: 1 ms, main thread sampled too); per-
// worker ops/s profiled ÷ unprofiled, and how long `profile.stop()` takes to deliver the
// report of all of them. All arms interleaved, arm order rotating per round.
//
//   node bench/scenarios/scale.js [--quick]

const path = require('node:path')
const wt = require('node:worker_threads')
const { AsyncResource } = require('node:async_hooks')
const { performance } = require('node:perf_hooks')
const pw = require('../..') // patches worker_threads.Worker
const { full, main, stats, median, nextMessage, interleavedAsync } = require('../harness')

const FIB = path.join(__dirname, 'workers', 'fib.js')
const COUNTS = [1, 2, 8, 32]
const RUN = { rounds: full(4, 2), warmupMs: 200, measureMs: full(1000, 400) }

const epochNow = () => performance.timeOrigin + performance.now()

const checks = { reports: 0, bad: [] }

/** n workers measured in one window; with `profiled`, all inside one profile. */
async function sample(n, profiled) {
  const start = () => {
    const ws = Array.from({ length: n }, () => new wt.Worker(FIB, { workerData: { mode: 'go' } }))
    return ws
  }
  let profile = null
  let workers
  if (profiled) {
    ;({ profile, workers } = new AsyncResource('bench-scale').runInAsyncScope(() => ({
      profile: pw.startProfile({ name: `scale-${n}` }),
      workers: start(),
    })))
  } else {
    workers = start()
  }
  const threadIds = workers.map((w) => w.threadId)
  await Promise.all(workers.map((w) => nextMessage(w, 'ready', (m) => m.t === 'ready')))
  const warmupUntil = epochNow() + RUN.warmupMs
  const results = workers.map((w) => nextMessage(w, 'its result', (m) => m.t === 'result'))
  for (const w of workers) {
    w.postMessage({ t: 'go', warmupUntil, measureUntil: warmupUntil + RUN.measureMs })
  }
  // Mean over the workers: with more workers than cores the scheduler is not fair within
  // a window, so single workers vary widely while their sum does not.
  const done = await Promise.all(results)
  const opsPerS = done.reduce((sum, r) => sum + (r.ops * 1000) / r.ms, 0) / n
  let reportMs = null
  if (profile) {
    const t0 = performance.now()
    const report = await profile.stop()
    reportMs = performance.now() - t0
    checks.reports++
    const missing = threadIds.filter((id) => !(report.thread(id)?.profile.sampleCount > 0))
    if (missing.length) checks.bad.push(`${n} workers: ${missing.length} without samples`)
  }
  await Promise.all(workers.map((w) => w.terminate()))
  return { opsPerS, reportMs }
}

async function run(log) {
  log(
    `6 scale: ${COUNTS.join(', ')} workers × (unprofiled, profiled), ${RUN.rounds} rounds of ` +
      `${RUN.warmupMs} ms warm-up + ${RUN.measureMs} ms`,
  )
  const arms = COUNTS.flatMap((n) => [
    { name: `${n} unprofiled`, sample: () => sample(n, false) },
    { name: `${n} profiled`, sample: () => sample(n, true) },
  ])
  const r = await interleavedAsync(arms, { rounds: RUN.rounds, log })
  const rows = []
  const S = '6 scale: workers in one profile'
  const report1 = median(r['1 profiled'].map((x) => x.reportMs))
  for (const n of COUNTS) {
    const base = stats(r[`${n} unprofiled`].map((x) => x.opsPerS))
    const prof = stats(r[`${n} profiled`].map((x) => x.opsPerS))
    const rep = stats(r[`${n} profiled`].map((x) => x.reportMs))
    const w = `${n} worker${n > 1 ? 's' : ''}`
    rows.push(
      {
        scenario: S,
        arm: `${w}: unprofiled, ops/s per worker`,
        ...base,
        unit: 'ops/s',
        ratio: 'baseline',
      },
      {
        scenario: S,
        arm: `${w}: profiled, ops/s per worker`,
        ...prof,
        unit: 'ops/s',
        ratio: `${((100 * prof.median) / base.median).toFixed(1)}% of unprofiled`,
      },
      {
        scenario: S,
        arm: `${w}: stop → report`,
        ...rep,
        ratio: n === 1 ? 'baseline (1 worker)' : `${(rep.median / report1).toFixed(2)}× 1 worker`,
      },
    )
  }
  const notes = [
    `scale: per sample, n patched workers (workers/fib.js 'go' mode) start, wait until all ` +
      `are ready, then run fib tasks in the same ${RUN.warmupMs} ms warm-up + ` +
      `${RUN.measureMs} ms window (epoch deadlines); ops/s per worker is the mean over the ` +
      `n workers, then the median over ${RUN.rounds} rounds. Profiled: one startProfile() ` +
      '(defaults) with all n workers created inside it; stop → report is timed right after ' +
      'the window, while the workers idle. On 2 cores, n workers share 2 CPUs, so ops/s ' +
      'per worker falls with n in both arms; the ratio is what profiling adds.',
    `reports checked: ${checks.reports}; every worker thread present with samples: ` +
      `${checks.bad.length ? `no (${checks.bad.join('; ')})` : 'yes'}`,
  ]
  return { rows, notes }
}

if (require.main === module) main(run)

module.exports = { run }
