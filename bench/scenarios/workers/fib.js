'use strict'
// CPU-bound worker of scenarios/profiling-cost.js and scenarios/scale.js: recursive fib
// tasks in slices of SLICE_MS, yielding to the event loop between slices (so the worker
// still reads its ports, as a real task worker does), counting the tasks done in measured
// windows.
//
// workerData.mode:
//   'rotation' (profiling-cost.js) after a warm-up, `rounds` rounds of one window of
//             `windowMs` of this thread's CPU time per entry of `arms` ('off', 'ours',
//             'inspector', a peer kind, or 'control', which switches nothing): the order
//             turns by one each round, each turn once forwards and once backwards, so no
//             arm always runs right after another and slow drift cancels within a round.
//             `initial` says what is on from the first line ('ours' when the worker is
//             created inside a profile). Posts { t: 'result', windows: [{round, arm, ops,
//             ms, cpuMs}], samples: {arm: n} }.
//   'forever' (main-stall.js) post { t: 'ready' }, then run fib slices until terminated.
//   'go'      (scale.js) start `profiler` if one is named (a local one: never stopped),
//             post { t: 'ready' }, wait for { t: 'go', warmupUntil, measureUntil } (epoch
//             ms, the same for every worker), then post { t: 'result', ops, ms }.

const path = require('node:path')
const { parentPort, workerData } = require('node:worker_threads')
const { performance } = require('node:perf_hooks')

const { startProfiler } = require(path.join(__dirname, '..', '..', 'peer-profilers'))

const FIB_N = 20 // ~0.05–0.1 ms per task
const SLICE_MS = 10

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}

const epochNow = () => performance.timeOrigin + performance.now()
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
const nextMessage = (t) =>
  new Promise((resolve) => {
    const on = (m) => m?.t === t && (parentPort.off('message', on), resolve(m))
    parentPort.on('message', on)
  })

let sink = 0

/** Tasks done until `until` (epoch ms). */
async function runUntil(until) {
  let ops = 0
  for (;;) {
    const now = epochNow()
    if (now >= until) break
    const sliceEnd = Math.min(until, now + SLICE_MS)
    while (epochNow() < sliceEnd) {
      sink += fib(FIB_N)
      ops++
    }
    await nextTurn()
  }
  return ops
}

// This thread's CPU clock (CLOCK_THREAD_CPUTIME_ID, ns) from profiled-worker's addon, which
// loads cleanly in any worker and keeps no state: a window's CPU time shows how much of it
// the thread actually ran (the rest it waited for a core on this shared machine).
const { threadCpuTime } = require(path.join(__dirname, '..', '..', '..', 'lib', 'util', 'native'))

/** One measured window ending at `until`: tasks, wall ms, and CPU ms of this thread. */
async function measure(until) {
  const t0 = epochNow()
  const c0 = threadCpuTime()
  const ops = await runUntil(until)
  return { ops, ms: epochNow() - t0, cpuMs: Number(threadCpuTime() - c0) / 1e6 }
}

/** Turns profilers on and off by arm name, one at a time. */
function rotator({ initial = 'off', peerPath, intervalUs }) {
  let current = initial
  let stop = null
  const samples = {}
  const toggleOurs = async (on) => {
    parentPort.postMessage({ t: 'toggle', on })
    await nextMessage('toggled')
  }
  return async function set(arm) {
    if (arm === current) return
    if (current === 'ours') await toggleOurs(false)
    else if (stop) samples[current] = (samples[current] ?? 0) + stop()
    stop = null
    if (arm === 'ours') await toggleOurs(true)
    else if (arm !== 'off' && arm !== 'control') stop = startProfiler(arm, { peerPath, intervalUs })
    current = arm
    set.samples = samples
  }
}

/**
 * One window that ends when this thread has used `cpuMs` of CPU: under load a wall-time
 * window holds less work, and fewer tasks mean coarser rates.
 */
async function measureCpu(cpuMs) {
  const t0 = epochNow()
  const c0 = threadCpuTime()
  const end = c0 + BigInt(Math.round(cpuMs * 1e6))
  let ops = 0
  while (threadCpuTime() < end) {
    const sliceEnd = epochNow() + SLICE_MS
    while (epochNow() < sliceEnd) {
      sink += fib(FIB_N)
      ops++
    }
    await nextTurn()
  }
  return { ops, ms: epochNow() - t0, cpuMs: Number(threadCpuTime() - c0) / 1e6 }
}

async function rotation({ warmupMs, windowMs, rounds, arms, ...opts }) {
  const set = rotator(opts)
  await runUntil(epochNow() + warmupMs)
  const windows = []
  for (let round = 0; round < rounds; round++) {
    const turned = arms.map((_, i) => arms[(i + round) % arms.length])
    // Each turn once forwards, then each once backwards: with two arms, reversing every
    // other turned round would put the same arm first every time.
    const backwards = Math.floor(round / arms.length) % 2 === 1
    for (const arm of backwards ? turned.reverse() : turned) {
      await set(arm)
      windows.push({ round, arm, ...(await measureCpu(windowMs)) })
    }
  }
  await set('off')
  parentPort.postMessage({ t: 'result', windows, samples: set.samples ?? {} })
}

async function go() {
  const { profiler, peerPath, intervalUs } = workerData
  if (profiler) startProfiler(profiler, { peerPath, intervalUs }) // a local one, on from here
  parentPort.postMessage({ t: 'ready' })
  const window = await nextMessage('go')
  await runUntil(window.warmupUntil)
  parentPort.postMessage({ t: 'result', ...(await measure(window.measureUntil)) })
}

async function forever() {
  parentPort.postMessage({ t: 'ready' })
  for (;;) await runUntil(epochNow() + 1000)
}

const MODES = { rotation: () => rotation(workerData), go, forever }
MODES[workerData.mode]().finally(() => {
  if (sink < 0) console.log(sink) // keep the work observable
})
