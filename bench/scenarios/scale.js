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
const RUN = { rounds: full(4, 2), warmupMs: 200, measureMs: full(600, 400) }

const epochNow = () => performance.timeOrigin + performance.now()

const checks = { reports: 0, bad: [] }

/**
 * n workers measured in one window. `how`: 'unprofiled'; 'ours', all inside one profile;
 * 'inspector', each worker sampling itself with the raw inspector Profiler (the floor).
 */
async function sample(n, how) {
  const workerData = { mode: 'go', ...(how === 'inspector' ? { profiler: 'inspector' } : {}) }
  const start = () => Array.from({ length: n }, () => new wt.Worker(FIB, { workerData }))
  let profile = null
  let workers
  if (how === 'ours') {
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
    `6 scale: ${COUNTS.join(', ')} workers × (unprofiled, ours, inspector), ${RUN.rounds} rounds of ` +
      `${RUN.warmupMs} ms warm-up + ${RUN.measureMs} ms`,
  )
  const arms = COUNTS.flatMap((n) =>
    ['unprofiled', 'ours', 'inspector'].map((how) => ({
      name: `${n} ${how}`,
      sample: () => sample(n, how),
    })),
  )
  const r = await interleavedAsync(arms, { rounds: RUN.rounds, log })
  const rows = []
  const S = '6 scale: workers in one profile'
  const report1 = median(r['1 ours'].map((x) => x.reportMs))
  for (const n of COUNTS) {
    const base = stats(r[`${n} unprofiled`].map((x) => x.opsPerS))
    const ours = stats(r[`${n} ours`].map((x) => x.opsPerS))
    const floor = stats(r[`${n} inspector`].map((x) => x.opsPerS))
    const rep = stats(r[`${n} ours`].map((x) => x.reportMs))
    const w = `${n} worker${n > 1 ? 's' : ''}`
    const of = (x) => `${((100 * x.median) / base.median).toFixed(1)}% of unprofiled`
    const opsRow = (arm, x, ratio) => ({ scenario: S, arm, ...x, unit: 'ops/s', ratio })
    rows.push(
      opsRow(`${w}: unprofiled, ops/s per worker`, base, 'baseline'),
      opsRow(`${w}: ours (one profile), ops/s per worker`, ours, of(ours)),
      opsRow(`${w}: raw inspector in each worker (floor)`, floor, of(floor)),
      {
        scenario: S,
        arm: `${w}: ours, stop → report`,
        ...rep,
        ratio: n === 1 ? 'baseline (1 worker)' : `${(rep.median / report1).toFixed(2)}× 1 worker`,
      },
    )
  }
  const notes = [
    `scale: per sample, n patched workers (workers/fib.js 'go' mode) start, wait until all ` +
      `are ready, then run fib tasks in the same ${RUN.warmupMs} ms warm-up + ` +
      `${RUN.measureMs} ms window (epoch deadlines); ops/s per worker is the mean over the ` +
      `n workers, then the median over ${RUN.rounds} rounds. Ours: one startProfile() ` +
      '(defaults: 1 ms, main thread too) with all n workers created inside it; stop → ' +
      'report is timed right after the window, while the workers idle. Floor: each worker ' +
      'starts the raw inspector Profiler (1 ms) on itself. On 2 cores, n workers share 2 ' +
      'CPUs, so ops/s per worker falls with n in every arm; the ratio is what profiling adds.',
    `reports checked: ${checks.reports}; every worker thread present with samples: ` +
      `${checks.bad.length ? `no (${checks.bad.join('; ')})` : 'yes'}`,
  ]
  return { rows, notes }
}

if (require.main === module) main(run)

module.exports = { run }
