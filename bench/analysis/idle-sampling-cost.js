'use strict'
// What sampling an idle thread costs: CPU time of the whole process and of the main thread
// per second while the main thread idles, unsampled and sampled at 1 ms and 100 µs.
//
//   node bench/analysis/idle-sampling-cost.js

const { Session } = require('node:inspector')
const { threadCpuTime } = require('../..')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

;(async () => {
  for (const us of [0, 1000, 100]) {
    const s = new Session()
    s.connect()
    if (us) {
      s.post('Profiler.enable')
      s.post('Profiler.setSamplingInterval', { interval: us })
      s.post('Profiler.start')
    }
    const c0 = process.cpuUsage()
    const m0 = threadCpuTime()
    await sleep(2000)
    const c = process.cpuUsage(c0)
    const main = Number(threadCpuTime() - m0) / 1e6 / 2
    if (us) s.post('Profiler.stop')
    s.disconnect()
    console.log(
      `${us ? `sampled every ${us} µs` : 'unsampled'}: process ${((c.user + c.system) / 2000).toFixed(1)} ms CPU/s, main thread ${main.toFixed(1)} ms CPU/s`,
    )
  }
})()
