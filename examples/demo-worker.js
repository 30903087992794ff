'use strict'
// The demo's worker: CPU-bound tasks with recognisable names.
const { parentPort, workerData } = require('node:worker_threads')

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
}

function renderChart(ms) {
  const end = Date.now() + ms
  let points = 0
  while (Date.now() < end) points += fib(18)
  return points
}

function resizeImage(ms) {
  const end = Date.now() + ms
  const pixels = new Float64Array(4096)
  while (Date.now() < end)
    for (let i = 0; i < pixels.length; i++)
      pixels[i] = Math.sqrt(i * pixels[(i * 7) % pixels.length] + 1)
  return pixels[17]
}

const tasks = { renderChart, resizeImage }

if (workerData && workerData.oneShot) {
  // A worker started for one request: do the job and leave.
  parentPort.postMessage(tasks[workerData.oneShot.task](workerData.oneShot.ms))
} else {
  parentPort.on('message', ({ id, task, ms }) =>
    parentPort.postMessage({ id, result: tasks[task](ms) }),
  )
}
