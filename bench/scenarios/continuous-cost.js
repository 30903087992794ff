'use strict'
// Issue #16: what continuous profiling costs a CPU-bound app. Four workers run fib tasks
// sent from the main thread for a fixed time; ops/s with continuous profiling at the
// default 100 Hz (pushing to a receiver in the same process, and to a backend that is
// down: a closed port, so every push fails and is retried) relative to the same app
// unprofiled, and the resident memory at the end of each run against its start. Periods
// are 1 s instead of 60 s so that a run of seconds pushes many. Each sample is a fresh
// `node` child; the arms are interleaved round by round.
//
//   node bench/scenarios/continuous-cost.js [--quick]
//   node bench/scenarios/continuous-cost.js --child <off|on|down> <ms>   (one sample, JSON)

const http = require('node:http')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { full, interleavedAsync, stats, main } = require('../harness')

const ROOT = path.resolve(__dirname, '..', '..')
const ROUNDS = full(5, 2)
const RUN_MS = full(6000, 3000)
const TARGET = 0.99
const WORKER = `
  const { parentPort } = require('node:worker_threads')
  const fib = (n) => (n < 2 ? n : fib(n - 1) + fib(n - 2))
  parentPort.on('message', (n) => parentPort.postMessage(fib(n)))
`

async function child(arm, ms) {
  let handle = null
  let server = null
  if (arm !== 'off') {
    const pw = require(ROOT)
    let url = 'http://127.0.0.1:1' // nothing listens there: the backend is down
    if (arm === 'on') {
      server = http.createServer((req, res) => req.resume().on('end', () => res.end('ok')))
      await new Promise((r) => server.listen(0, '127.0.0.1', r))
      url = `http://127.0.0.1:${server.address().port}`
    }
    handle = pw.startContinuous({ periodMs: 1000, pyroscope: url, otlp: url, backoffMs: 100 })
  }
  const { Worker } = require('node:worker_threads')
  const workers = Array.from({ length: 4 }, () => new Worker(WORKER, { eval: true }))
  const rss0 = process.memoryUsage().rss
  let ops = 0
  const end = Date.now() + ms
  await Promise.all(
    workers.map(async (w) => {
      while (Date.now() < end) {
        await new Promise((r) => {
          w.once('message', r)
          w.postMessage(22)
        })
        ops++
      }
    }),
  )
  const rss1 = process.memoryUsage().rss
  const s = handle ? await handle.stop() : null
  await Promise.all(workers.map((w) => w.terminate()))
  server?.close()
  process.stdout.write(
    JSON.stringify({
      opsPerSec: (ops * 1000) / ms,
      rssGrowthMb: (rss1 - rss0) / 2 ** 20,
      stats: s,
    }) + '\n',
  )
}

async function run(log) {
  const sample = (arm) => () =>
    JSON.parse(
      execFileSync(process.execPath, [__filename, '--child', arm, String(RUN_MS)], {
        encoding: 'utf8',
        timeout: RUN_MS + 60_000,
      }),
    )
  const results = { off: [], on: [], down: [] }
  const arms = Object.keys(results).map((name) => ({
    name,
    sample: async () => {
      const r = sample(name)()
      results[name].push(r)
      return r.opsPerSec
    },
  }))
  const S = 'continuous: 4 CPU-bound workers, 100 Hz, 1 s periods'
  log(`${S}: ${ROUNDS} rounds of ${RUN_MS} ms per arm`)
  const ops = await interleavedAsync(arms, { rounds: ROUNDS, log })
  const base = stats(ops.off)
  const mb = (name) => stats(results[name].slice(-ROUNDS).map((r) => r.rssGrowthMb)).median
  const row = (name, arm) => {
    const s = stats(ops[name])
    const ratio = s.median / base.median
    return {
      scenario: S,
      arm: `${arm} (RSS +${mb(name).toFixed(1)} MB)`,
      ...s,
      unit: 'ops/s',
      ratio: `${ratio.toFixed(3)}×`,
      target: `≥ ${TARGET}×`,
      met: ratio >= TARGET,
    }
  }
  const down = results.down.at(-1)?.stats?.exporters?.pyroscope
  return {
    rows: [
      {
        scenario: S,
        arm: `unprofiled (RSS +${mb('off').toFixed(1)} MB)`,
        ...base,
        unit: 'ops/s',
        ratio: 'baseline',
      },
      row('on', 'continuous, pushing to a receiver'),
      row('down', 'continuous, backend down'),
    ],
    notes: [
      `continuous-cost: fib(22) round trips per second over ${RUN_MS} ms, ${ROUNDS} interleaved rounds; ` +
        'RSS growth from after start to the end of the run, median. Backend down, last run: ' +
        (down
          ? `sent ${down.sent}, failed ${down.failed}, dropped ${down.dropped}, queued ${down.queued}`
          : 'n/a'),
    ],
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => {
    process.stderr.write(`${err.stack}\n`)
    process.exitCode = 1
  })
} else if (require.main === module) main(run)

module.exports = { run }
