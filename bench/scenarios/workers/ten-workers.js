'use strict'
// bench/scenarios/cli-start.js's app: 10 empty workers one after another; prints the ms
// from the first start to the last exit.
const { Worker } = require('node:worker_threads')
const { once } = require('node:events')
const { performance } = require('node:perf_hooks')

;(async () => {
  const t0 = performance.now()
  for (let i = 0; i < 10; i++) await once(new Worker('', { eval: true }), 'exit')
  console.log(String(performance.now() - t0))
})()
