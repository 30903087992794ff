'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const { threadCpuTime } = require('..')
const { ROOT } = require('./helpers')

// The worker measures its own thread CPU time around either a spin or a sleep of 200 ms.
function inWorker(mode) {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads')
     const { threadCpuTime } = require(${JSON.stringify(ROOT)})
     const t0 = threadCpuTime()
     const start = Date.now()
     if (${JSON.stringify(mode)} === 'spin') { while (Date.now() - start < 200); }
     else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
     parentPort.postMessage({ cpuMs: Number(threadCpuTime() - t0) / 1e6, wallMs: Date.now() - start })`,
    { eval: true },
  )
  return new Promise((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  })
}

test('threadCpuTime is a bigint that grows while this thread works', () => {
  const a = threadCpuTime()
  const end = Date.now() + 30
  while (Date.now() < end);
  const b = threadCpuTime()
  assert.equal(typeof a, 'bigint')
  assert.ok(b - a >= 10_000_000n, `${b - a} ns for 30 ms of spinning`)
})

test('a worker that spins 200 ms reports about 200 ms; the waiting main thread does not', async () => {
  const main0 = threadCpuTime()
  const { cpuMs, wallMs } = await inWorker('spin')
  const mainMs = Number(threadCpuTime() - main0) / 1e6
  assert.ok(cpuMs <= wallMs + 5, `cpu ${cpuMs} ms > wall ${wallMs} ms`)
  assert.ok(cpuMs >= 120, `worker cpu ${cpuMs} ms for a 200 ms spin`)
  // Process-wide CPU would include the worker's 200 ms; the thread clock must not.
  assert.ok(mainMs < cpuMs / 2, `main thread ${mainMs} ms while the worker spun ${cpuMs} ms`)
})

test('a worker that sleeps 200 ms reports near zero', async () => {
  const { cpuMs, wallMs } = await inWorker('sleep')
  assert.ok(wallMs >= 190, `slept only ${wallMs} ms`)
  assert.ok(cpuMs < 20, `sleeping worker used ${cpuMs} ms of CPU`)
})
