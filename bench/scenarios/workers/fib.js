'use strict'
// CPU-bound worker of scenarios/profiling-cost.js and scenarios/scale.js: recursive fib
// tasks in slices of SLICE_MS, yielding to the event loop between slices (so the worker
// still reads its ports, as a real task worker does), counting the tasks done in measured
// windows.
//
// workerData.mode:
//   'paired'  (profiling-cost.js) after a warm-up, `pairs` pairs of `windowMs` windows,
//             one profiled and one not, in the order PU UP PU ... within this same worker
//             (same isolate, same JIT code: the ratio of the two is what sampling costs).
//             `profiler` says how profiling is switched: a peer kind or 'inspector' is
//             started and stopped right here (bench/peer-profilers.js); 'ours' asks the
//             main thread, which starts or stops a profile and answers { t: 'toggled' };
//             null switches nothing (the method's control arm). Profiling is on from the
//             worker's first line. Posts { t: 'result', windows: [{on, ops, ms}],
//             samples } (samples: the local profiler's, summed over its stops).
//   'forever' (main-stall.js) post { t: 'ready' }, then run fib slices until terminated.
//   'go'      (scale.js) start `profiler` if one is named (a local one: never stopped),
//             post { t: 'ready' }, wait for { t: 'go', warmupUntil, measureUntil } (epoch
//             ms, the same for every worker), then post { t: 'result', ops, ms }.

const path = require('node:path')
const { parentPort, workerData } = require('node:worker_threads')
const { performance } = require('node:perf_hooks')

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

/** Profiling switched on and off in this thread (or by the main thread, for ours). */
function switcher({ profiler, peerPath, intervalUs }) {
  if (!profiler) return { set: async () => {}, samples: () => 0 }
  if (profiler === 'ours') {
    return {
      set: async (on) => {
        parentPort.postMessage({ t: 'toggle', on })
        await nextMessage('toggled')
      },
      samples: () => 0, // counted from the reports, on the main thread
    }
  }
  const { startProfiler } = require(path.join(__dirname, '..', '..', 'peer-profilers'))
  let stop = startProfiler(profiler, { peerPath, intervalUs })
  let samples = 0
  return {
    set: async (on) => {
      if (on) stop = startProfiler(profiler, { peerPath, intervalUs })
      else samples += stop()
    },
    samples: () => samples,
  }
}

async function paired({ warmupMs, windowMs, pairs, ...opts }) {
  const profiling = switcher(opts) // on from here (ours: since before this line)
  let on = true
  await runUntil(epochNow() + warmupMs)
  const windows = []
  for (let i = 0; i < pairs; i++) {
    for (const want of i % 2 === 0 ? [true, false] : [false, true]) {
      if (want !== on) await profiling.set((on = want))
      windows.push({ on, ...(await measure(epochNow() + windowMs)) })
    }
  }
  if (on) await profiling.set(false)
  parentPort.postMessage({ t: 'result', windows, samples: profiling.samples() })
}

async function go() {
  if (workerData.profiler) switcher(workerData) // a local profiler, on from here
  parentPort.postMessage({ t: 'ready' })
  const window = await nextMessage('go')
  await runUntil(window.warmupUntil)
  parentPort.postMessage({ t: 'result', ...(await measure(window.measureUntil)) })
}

async function forever() {
  parentPort.postMessage({ t: 'ready' })
  for (;;) await runUntil(epochNow() + 1000)
}

const MODES = { paired: () => paired(workerData), go, forever }
MODES[workerData.mode]().finally(() => {
  if (sink < 0) console.log(sink) // keep the work observable
})
