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
     const p0 = process.cpuUsage()
     const processMs = () => { const u = process.cpuUsage(p0); return (u.user + u.system) / 1000 }
     const start = Date.now()
     // Spin for 200 ms of CPU by an independent clock (process-wide; the other threads are
     // idle), so a loaded machine that gives us less than a core does not change the answer.
     if (${JSON.stringify(mode)} === 'spin') { while (processMs() < 200); }
     else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
     parentPort.postMessage({ cpuMs: Number(threadCpuTime() - t0) / 1e6, processMs: processMs(), wallMs: Date.now() - start })`,
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
  const { cpuMs, processMs, wallMs } = await inWorker('spin')
  const mainMs = Number(threadCpuTime() - main0) / 1e6
  assert.ok(cpuMs <= wallMs + 5, `cpu ${cpuMs} ms > wall ${wallMs} ms`)
  assert.ok(cpuMs <= processMs + 5, `thread cpu ${cpuMs} ms > process cpu ${processMs} ms`)
  assert.ok(cpuMs >= 150, `worker cpu ${cpuMs} ms for a spin of ${processMs} ms of process CPU`)
  // Process-wide CPU would include the worker's 200 ms; the thread clock must not.
  assert.ok(mainMs < cpuMs / 2, `main thread ${mainMs} ms while the worker spun ${cpuMs} ms`)
})

test('a worker that sleeps 200 ms reports near zero', async () => {
  const { cpuMs, wallMs } = await inWorker('sleep')
  assert.ok(wallMs >= 190, `slept only ${wallMs} ms`)
  assert.ok(cpuMs < 20, `sleeping worker used ${cpuMs} ms of CPU`)
})
