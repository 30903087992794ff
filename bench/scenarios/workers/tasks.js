'use strict'
// Worker of scenarios/weights.js: busy-waits `ms` per task. As a Piscina task module
// (the export), or, with workerData.plain, answering { id, ms } messages itself.

const { parentPort, workerData } = require('node:worker_threads')
const { performance } = require('node:perf_hooks')

function busyTask(ms) {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x > 0
}

module.exports = ({ ms }) => busyTask(ms)

if (workerData && workerData.plain)
  parentPort.on('message', ({ id, ms }) => parentPort.postMessage({ id, ok: busyTask(ms) }))
if (workerData && workerData.oneShot) parentPort.postMessage(busyTask(workerData.oneShot.ms))
