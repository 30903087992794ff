'use strict'
// Relations only (between clocks read around the same work, and between two workers), so
// a loaded machine that gives a thread less than a core cannot fail them.
const test = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const { threadCpuTime } = require('..')
const { ROOT } = require('./helpers')

// The worker measures its own thread CPU time around either a spin or a sleep of 200 ms.
// Each window holds the next: wall ⊃ process CPU ⊃ thread CPU.
function inWorker(mode) {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads')
     const { threadCpuTime } = require(${JSON.stringify(ROOT)})
     const start = performance.now()
     const p0 = process.cpuUsage()
     const t0 = threadCpuTime()
     const processMs = () => { const u = process.cpuUsage(p0); return (u.user + u.system) / 1000 }
     let waited = null
     // Spin for 200 ms of CPU by an independent clock (process-wide; the other threads are
     // idle), so a loaded machine that gives us less than a core does not change the answer.
     if (${JSON.stringify(mode)} === 'spin') { while (processMs() < 200); }
     else waited = Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
     const cpuMs = Number(threadCpuTime() - t0) / 1e6
     const pMs = processMs()
     const wallMs = performance.now() - start
     parentPort.postMessage({ cpuMs, processMs: pMs, wallMs, waited })`,
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
  assert.ok(b > a, `${a} then ${b} around 30 ms of spinning`)
})

test('a spinning worker’s CPU is its own: within the wall and process clocks, not the waiting main thread’s', async () => {
  const main0 = threadCpuTime()
  const { cpuMs, processMs, wallMs } = await inWorker('spin')
  const mainMs = Number(threadCpuTime() - main0) / 1e6
  assert.ok(cpuMs <= wallMs, `cpu ${cpuMs} ms > wall ${wallMs} ms`)
  // process.cpuUsage() counts in µs: one µs of rounding.
  assert.ok(cpuMs <= processMs + 0.001, `thread cpu ${cpuMs} ms > process cpu ${processMs} ms`)
  // The other threads are idle: the spinning one used most of the process's CPU.
  assert.ok(cpuMs > processMs / 2, `worker cpu ${cpuMs} ms of ${processMs} ms of process CPU`)
  // Process-wide CPU would include the worker's spin; the thread clock must not.
  assert.ok(mainMs < cpuMs / 2, `main thread ${mainMs} ms while the worker spun ${cpuMs} ms`)
})

test('a sleeping worker uses far less CPU than a spinning one', async () => {
  const sleep = await inWorker('sleep')
  const spin = await inWorker('spin')
  assert.equal(sleep.waited, 'timed-out', 'it slept the whole 200 ms')
  assert.ok(sleep.cpuMs <= sleep.wallMs)
  assert.ok(sleep.cpuMs < spin.cpuMs / 2, `slept: ${sleep.cpuMs} ms, spun: ${spin.cpuMs} ms`)
})
