'use strict'
// Where RSS growth under worker churn comes from, one part at a time. Each variant runs
// N create → (profile →) terminate cycles, 4 at a time, after 20 warm-up cycles, and
// prints RSS growth after gc() (repeated for 3.5 s, as in bench/leaks.js). One variant
// per process:
//
//   node --expose-gc bench/analysis/leak-parts.js VARIANT [N]
//
//   plain     plain Workers (no package loaded)
//   raw-main  plain Workers, the main thread profiled through a raw inspector session
//             for each cycle (V8's own cost of starting and stopping its profiler)
//   idle      ProfiledWorkers, no profile
//   worker    ProfiledWorkers, each created inside a profile of its own (mainThread: false)
//   main      the same with the main thread sampled too, every cycle

const wt = require('node:worker_threads')

if (!wt.isMainThread) {
  wt.parentPort.postMessage('ready')
  const spin = () => {
    const end = Date.now() + 2
    while (Date.now() < end);
    setImmediate(spin)
  }
  spin()
} else {
  const variant = process.argv[2] ?? 'worker'
  const N = Number(process.argv[3] ?? 800)
  const ours = ['idle', 'worker', 'main'].includes(variant)
  const pw = ours ? require('../..') : null
  const { AsyncResource } = require('node:async_hooks')
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const settle = async () => {
    const end = Date.now() + 3500
    while (Date.now() < end) {
      global.gc()
      await new Promise((resolve) => setImmediate(resolve))
      await sleep(250)
    }
    global.gc()
  }
  const post = (s, method, params) =>
    new Promise((resolve, reject) =>
      s.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    )
  async function cycle() {
    let w
    let profile = null
    let session = null
    if (variant === 'worker' || variant === 'main') {
      new AsyncResource('leak-part').runInAsyncScope(() => {
        profile = pw.startProfile({ mainThread: variant === 'main' })
        w = new wt.Worker(__filename)
      })
    } else {
      if (variant === 'raw-main') {
        session = new (require('node:inspector').Session)()
        session.connect()
        await post(session, 'Profiler.enable')
        await post(session, 'Profiler.start')
      }
      w = new wt.Worker(__filename)
    }
    await new Promise((resolve) => w.once('message', resolve))
    await w.terminate()
    if (profile) await profile.stop()
    if (session) {
      JSON.stringify((await post(session, 'Profiler.stop')).profile)
      await post(session, 'Profiler.disable')
      session.disconnect()
    }
  }
  ;(async () => {
    if (typeof global.gc !== 'function') throw new Error('run with --expose-gc')
    for (let i = 0; i < 20; i++) await cycle()
    await settle()
    const before = process.memoryUsage().rss
    let next = 0
    const lane = async () => {
      while (next++ < N) await cycle()
    }
    await Promise.all([lane(), lane(), lane(), lane()])
    await settle()
    const mb = (process.memoryUsage().rss - before) / 1e6
    console.log(`${variant}: ${N} cycles, RSS ${mb >= 0 ? '+' : ''}${mb.toFixed(1)} MB after GC`)
  })()
}
