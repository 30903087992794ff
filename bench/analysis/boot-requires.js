'use strict'
// Where a ProfiledWorker's extra start time goes: the runtime (lib/worker/index.js) is a
// --require preload, so it runs before 'online'. This starts patched workers with a timing
// preload of its own ahead of the runtime (this file again, with PW_BOOT_TIMING set), which
// wraps Module._load and records each require's inclusive time; prints the medians.
//
//   node bench/analysis/boot-requires.js [workers]

const Module = require('node:module')
const wt = require('node:worker_threads')

if (process.env.PW_BOOT_TIMING && !wt.isMainThread) {
  // Preloaded into the worker, before the runtime.
  const log = []
  let depth = 0
  const load = Module._load
  Module._load = function (request) {
    const t0 = process.hrtime.bigint()
    depth++
    try {
      return load.apply(this, arguments)
    } finally {
      depth--
      log.push({ request, depth, ms: Number(process.hrtime.bigint() - t0) / 1e6 })
    }
  }
  globalThis.__bootTiming = { t0: process.hrtime.bigint(), log }
} else if (wt.isMainThread) {
  process.env.PW_BOOT_TIMING = '1'
  require('../..') // patches worker_threads.Worker
  const n = Number(process.argv[2] ?? 25)
  const user =
    'const t = process.hrtime.bigint(); const { t0, log } = globalThis.__bootTiming; ' +
    "require('node:worker_threads').parentPort.postMessage({ ms: Number(t - t0) / 1e6, log })"
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
  ;(async () => {
    const byRequire = new Map()
    const totals = []
    for (let i = 0; i < n; i++) {
      const w = new wt.Worker(user, { eval: true, execArgv: ['--require', __filename] })
      const m = await new Promise((resolve) => w.once('message', resolve))
      await w.terminate()
      if (i < 3) continue // warm-up: the first workers also pay for the main side's JIT
      totals.push(m.ms)
      for (const e of m.log) {
        const key = `${'  '.repeat(e.depth)}${e.request}`
        byRequire.set(key, [...(byRequire.get(key) ?? []), e.ms])
      }
    }
    console.log(
      `preload to user code: median ${median(totals).toFixed(2)} ms over ${totals.length} workers`,
    )
    for (const [key, ms] of byRequire) {
      if (median(ms) >= 0.05) console.log(`${median(ms).toFixed(2).padStart(6)} ms  ${key}`)
    }
  })()
}
