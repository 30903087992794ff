'use strict'
// Scenario 1: what the patch costs while no profile is active. Worker start latency and
// message round trips, through the patched worker_threads.Worker (ProfiledWorker) against
// the plain Worker captured before require('profiled-worker'); and round trips over a
// MessagePort transferred into the worker (the package is about to watch such ports).
//
//   node bench/scenarios/idle-cost.js [--quick]

const path = require('node:path')
const wt = require('node:worker_threads')
const { performance } = require('node:perf_hooks')

// Captured before the package patches worker_threads.Worker on require.
const PlainWorker = wt.Worker
const pw = require('../..')
const PatchedWorker = wt.Worker

const { full, interleavedAsync, stats, main, nextMessage } = require('../harness')

const ECHO = path.join(__dirname, 'workers', 'echo.js')
const START = { rounds: full(20, 5), perSample: full(5, 3) }
const TRIPS = { rounds: full(11, 3), windowMs: full(300, 150) }
const TARGET_START = 0.05 // ≤ +5%
const TARGET_TRIPS = 0.98 // ≥ 0.98×

function once(w, event) {
  return new Promise((resolve) => w.once(event, resolve))
}

/** `perSample` sequential starts: ms to 'online' and to the script's first message. */
async function starts(Worker, n) {
  const out = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const w = new Worker(ECHO)
    const online = once(w, 'online').then(() => performance.now() - t0)
    const up = nextMessage(w, 'its first message').then(() => performance.now() - t0)
    out.push({ online: await online, up: await up })
    await w.terminate()
  }
  return out
}

/** Ping-pong over `port` (a Worker or a MessagePort) for `ms`: round trips per second. */
function roundTrips(port, ms) {
  return new Promise((resolve) => {
    let n = 0
    const t0 = performance.now()
    const onMessage = () => {
      n++
      const t = performance.now() - t0
      if (t < ms) return port.postMessage(n)
      port.off('message', onMessage)
      resolve((n * 1000) / t)
    }
    port.on('message', onMessage)
    port.postMessage(n)
  })
}

/**
 * Round trips per second through a fresh echo worker (a new thread per sample, so no arm
 * keeps a lucky or unlucky thread placement), over the worker itself or over a
 * MessagePort transferred into it.
 */
async function tripsOn(Worker, over) {
  const { port1, port2 } = new wt.MessageChannel()
  const w = new Worker(ECHO, { workerData: { port: port2 }, transferList: [port2] })
  await nextMessage(w, 'up')
  const rate = await roundTrips(over === 'port' ? port1 : w, TRIPS.windowMs)
  port1.close()
  await w.terminate()
  return rate
}

const pct = (ratio) => `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)}%`

async function run(log) {
  if (PatchedWorker === PlainWorker || !pw.isPatched()) throw new Error('the patch is not on')
  const rows = []
  const S = '1 idle cost: worker start'
  log(`${S}: ${START.rounds} rounds × ${START.perSample} starts per arm`)
  const st = await interleavedAsync(
    [
      { name: 'plain', sample: () => starts(PlainWorker, START.perSample) },
      { name: 'patched', sample: () => starts(PatchedWorker, START.perSample) },
    ],
    { rounds: START.rounds, log },
  )
  for (const [key, label] of [
    ['online', "new Worker → 'online'"],
    ['up', 'new Worker → first message of user code'],
  ]) {
    const plain = stats(st.plain.map((x) => x[key]))
    const patched = stats(st.patched.map((x) => x[key]))
    const r = patched.median / plain.median
    rows.push(
      { scenario: S, arm: `plain Worker: ${label}`, ...plain, ratio: 'baseline' },
      {
        scenario: S,
        arm: `patched (ProfiledWorker): ${label}`,
        ...patched,
        ratio: `${r.toFixed(3)}× (${pct(r)})`,
        target: `≤ +${TARGET_START * 100}%`,
        met: r <= 1 + TARGET_START,
      },
    )
  }

  const T = '1 idle cost: round trips'
  log(`${T}: ${TRIPS.rounds} rounds × ${TRIPS.windowMs} ms per arm`)
  const tr = await interleavedAsync(
    [
      { name: 'worker plain', sample: () => tripsOn(PlainWorker, 'worker') },
      { name: 'worker patched', sample: () => tripsOn(PatchedWorker, 'worker') },
      { name: 'port plain', sample: () => tripsOn(PlainWorker, 'port') },
      { name: 'port patched', sample: () => tripsOn(PatchedWorker, 'port') },
    ],
    { rounds: TRIPS.rounds, log },
  )
  for (const [kind, label] of [
    ['worker', 'worker.postMessage ↔ parentPort'],
    ['port', 'transferred MessagePort ↔ port'],
  ]) {
    const base = stats(tr[`${kind} plain`])
    const ours = stats(tr[`${kind} patched`])
    const r = ours.median / base.median
    rows.push(
      { scenario: T, arm: `plain Worker: ${label}`, ...base, unit: 'rt/s', ratio: 'baseline' },
      {
        scenario: T,
        arm: `patched (ProfiledWorker): ${label}`,
        ...ours,
        unit: 'rt/s',
        ratio: `${r.toFixed(3)}×`,
        target: `≥ ${TARGET_TRIPS}×`,
        met: r >= TARGET_TRIPS,
      },
    )
  }
  const notes = [
    `idle cost: no profile is active. Start: ${START.perSample} sequential starts per sample ` +
      `(each worker terminated before the next), ${START.rounds} interleaved rounds; the ` +
      "worker script is bench/scenarios/workers/echo.js, which posts 'up' from its first " +
      `line. Round trips: ping-pong of a small number for ${TRIPS.windowMs} ms per sample ` +
      `through a fresh worker per sample, ${TRIPS.rounds} rounds; rt/s = round trips per ` +
      'second (2 messages each). The port arms ping-pong over a MessageChannel port ' +
      'transferred into the same worker in workerData.',
  ]
  return { rows, notes }
}

if (require.main === module) main(run)

module.exports = { run }
