'use strict'
// Weights equal the work (issue #14): for each thread of a report, the time every output
// charges it against the time it worked for the profile (its spans, effects.wallTimeNs).
//
//   node bench/scenarios/weights.js [--quick]
//
// 30 µs, 0.5 ms and 5 ms busy tasks, profiled and unprofiled interleaved (the unprofiled
// ones sent from outside the profile's context), on 1- and 2-thread pools: Piscina with
// contextQueue(), and plain workers answering worker.postMessage; plus a worker created in
// the profile (its whole life is the profile's). Per output format, |charged − span| /
// span per thread and run: median and p95. Charged is:
//   .cpuprofile  the durations DevTools computes (each sample until the next), less
//                `(other work)`;
//   pprof wall   the wall values (report.toPprof(), the same as report.merged().toPprof());
//   collapsed    sample counts × the sampling interval (the flame graph draws the same
//                counts), which leaves out `(unsampled)` time: the sampler's own error.
// Also the share of the charged time that is `(profiled-worker)` and `(unsampled)`.

const pw = require('../..') // first: it patches worker_threads.Worker
const path = require('node:path')
const { gunzipSync } = require('node:zlib')
const { Worker } = require('node:worker_threads')
const { AsyncResource } = require('node:async_hooks')
const { Profile: PprofProfile } = require('pprof-format')
const { QUICK, main, median, percentile } = require('../harness')

const WORKER = path.join(__dirname, 'workers', 'tasks.js')
const INTERVAL_US = 1000
const TASKS = [
  { label: '30 µs', ms: 0.03, n: QUICK ? 200 : 600 },
  { label: '0.5 ms', ms: 0.5, n: QUICK ? 60 : 200 },
  { label: '5 ms', ms: 5, n: QUICK ? 12 : 40 },
]

function cpuprofileUs(json) {
  const p = JSON.parse(json)
  const other = new Set(
    p.nodes.filter((n) => n.callFrame.functionName === '(other work)').map((n) => n.id),
  )
  const ts = []
  let t = p.startTime
  for (const d of p.timeDeltas) ts.push((t += d))
  let us = 0
  for (let k = 0; k < ts.length; k++)
    if (!other.has(p.samples[k])) us += Math.max(0, (ts[k + 1] ?? p.endTime) - ts[k])
  return us
}

function pprofWallUs(report) {
  const p = PprofProfile.decode(gunzipSync(report.toPprof()))
  const str = (i) => p.stringTable.strings[Number(i)]
  const wall = p.sampleType.findIndex((t) => str(t.type) === 'wall')
  const out = new Map()
  for (const s of p.sample) {
    const id = Number(s.label.find((l) => str(l.key) === 'thread_id').num)
    out.set(id, (out.get(id) ?? 0) + Number(s.value[wall]) / 1000)
  }
  return out
}

function collapsedUs(report) {
  const out = new Map()
  for (const line of report.toCollapsed().trim().split('\n')) {
    const id = Number(/\(thread (\d+)\)/.exec(line)[1])
    out.set(id, (out.get(id) ?? 0) + Number(line.slice(line.lastIndexOf(' '))) * INTERVAL_US)
  }
  return out
}

/** Every output's relative error for each worker of `report` in `threadIds`. */
function measure(report, threadIds, into) {
  const pprof = pprofWallUs(report)
  const collapsed = collapsedUs(report)
  for (const id of threadIds) {
    const t = report.thread(id)
    if (!t) continue
    const span = Number(t.effects.wallTimeNs) / 1000
    if (!(span > 0)) continue
    const err = (x) => Math.abs((x ?? 0) - span) / span
    into.cpuprofile.push(err(cpuprofileUs(t.profile.toCpuprofile())))
    into.pprof.push(err(pprof.get(id)))
    into.collapsed.push(err(collapsed.get(id)))
    const c = t.profile.charged
    if (c.workUs > 0) {
      into.own.push(c.ownUs / c.workUs)
      into.unsampled.push(c.unsampledUs / c.workUs)
    }
  }
}

function piscinaPool(threads) {
  const { Piscina } = require('piscina')
  const pool = new Piscina({
    filename: WORKER,
    minThreads: threads,
    maxThreads: threads,
    taskQueue: pw.contextQueue('piscina'),
  })
  return {
    run: (ms) => pool.run({ ms }),
    threadIds: () => pool.threads.map((t) => t.threadId),
    close: () => pool.destroy(),
  }
}

function plainPool(threads) {
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { workerData: { plain: true } }),
  )
  const waiting = new Map()
  let id = 0
  for (const w of workers)
    w.on('message', (m) => {
      waiting.get(m.id)?.()
      waiting.delete(m.id)
    })
  return {
    run: (ms) =>
      new Promise((resolve) => {
        const k = ++id
        waiting.set(k, resolve)
        workers[k % workers.length].postMessage({ id: k, ms })
      }),
    threadIds: () => workers.map((w) => w.threadId),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  }
}

/** One profile: `n` tasks, every other one sent from outside the profile's context. */
async function oneRun(pool, task) {
  const outside = AsyncResource.bind((ms) => pool.run(ms))
  const { report } = await pw.runProfile(
    async () => {
      const all = []
      for (let k = 0; k < task.n; k++) {
        all.push(k % 2 === 0 ? pool.run(task.ms) : outside(task.ms))
        // A few tasks in flight at once, so tasks queue behind each other.
        if (all.length >= 4) await Promise.all(all.splice(0))
      }
      await Promise.all(all)
    },
    { samplingIntervalUs: INTERVAL_US },
  )
  return report
}

async function createdInProfile(into, runs) {
  for (let r = 0; r < runs; r++) {
    const { report } = await pw.runProfile(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(WORKER, { workerData: { oneShot: { ms: 50 } } })
          w.once('message', () => w.once('exit', resolve))
          w.once('error', reject)
        }),
      { samplingIntervalUs: INTERVAL_US },
    )
    measure(
      report,
      report.threads.filter((t) => t.threadId !== 0).map((t) => t.threadId),
      into,
    )
  }
}

const fresh = () => ({ cpuprofile: [], pprof: [], collapsed: [], own: [], unsampled: [] })
const pct = (x) => (x * 100).toFixed(1)

main(async (log) => {
  const runs = QUICK ? 2 : 5
  const rows = []
  const all = fresh()
  const configs = []
  for (const kind of ['piscina', 'plain'])
    for (const threads of [1, 2]) configs.push({ kind, threads })
  for (const { kind, threads } of configs) {
    for (const task of TASKS) {
      const into = fresh()
      const pool = kind === 'piscina' ? piscinaPool(threads) : plainPool(threads)
      await Promise.all(Array.from({ length: threads * 2 }, () => pool.run(1))) // warm up
      for (let r = 0; r < runs; r++) measure(await oneRun(pool, task), pool.threadIds(), into)
      await pool.close()
      for (const k of Object.keys(all)) all[k].push(...into[k])
      rows.push(row(`${kind}, ${threads} thread${threads > 1 ? 's' : ''}, ${task.label}`, into))
      log(`  ${rows.at(-1).arm}: ${rows.at(-1).status}`)
    }
  }
  const created = fresh()
  await createdInProfile(created, runs * 2)
  rows.push(row('worker created in the profile', created))
  for (const k of Object.keys(all)) all[k].push(...created[k])
  const targets = ['cpuprofile', 'pprof'].map((f) => ({
    name: `${f}: |charged − span| / span ≤ 5% median, ≤ 10% p95 (all arms)`,
    value: `median ${pct(median(all[f]))}%, p95 ${pct(percentile(all[f], 95))}%`,
    met: median(all[f]) <= 0.05 && percentile(all[f], 95) <= 0.1,
  }))
  targets.push({
    name: '(profiled-worker) ≤ 2% of a worker’s charged time (median)',
    value: `median ${pct(median(all.own))}%, p95 ${pct(percentile(all.own, 95))}%`,
    met: median(all.own) <= 0.02,
  })
  return {
    rows,
    targets,
    notes: [
      `weights: ${INTERVAL_US} µs sampling; errors per thread and run. collapsed (and the flame ` +
        'graph) count samples only, so their error includes (unsampled) time: for tasks shorter ' +
        'than the interval that is most of it, by design.',
    ],
  }
})

function row(arm, m) {
  const q = (xs) => `${pct(median(xs))}/${pct(percentile(xs, 95))}`
  const met = median(m.cpuprofile) <= 0.05 && percentile(m.pprof, 95) <= 0.1
  return {
    scenario: 'weights: |charged − span| / span, % median/p95',
    arm,
    status:
      `cpuprofile ${q(m.cpuprofile)}, pprof ${q(m.pprof)}, collapsed ${q(m.collapsed)}; ` +
      `(profiled-worker) ${pct(median(m.own))}%, (unsampled) ${pct(median(m.unsampled))}%` +
      (met ? '' : ' MISSED'),
  }
}
