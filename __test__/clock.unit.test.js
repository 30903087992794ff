'use strict'
// The clocks (lib/util/clock.js): which clock each reads, in which unit. The bounds below
// are not speeds: a reading on another clock is off by the machine's uptime, one in
// another unit by a factor of 1000, and a second is far beyond either's jitter.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { nowUs, exactNowUs, epochNsOf } = require('../lib/util/clock')

const SECOND_US = 1e6
const hrUs = () => process.hrtime.bigint() / 1000n

test('nowUs is the hrtime clock in whole µs, rounded down', () => {
  for (let i = 0; i < 1000; i++) {
    const before = hrUs()
    const t = nowUs()
    const after = hrUs()
    assert.ok(Number.isInteger(t), `${t} is whole µs`)
    assert.ok(BigInt(t) >= before && BigInt(t) <= after, `${before} ≤ ${t} ≤ ${after}`)
  }
})

test('exactNowUs is the hrtime clock in µs and keeps the fraction', () => {
  let fractional = 0
  for (let i = 0; i < 1000; i++) {
    const before = Number(process.hrtime.bigint()) / 1000
    const t = exactNowUs()
    const after = Number(process.hrtime.bigint()) / 1000
    assert.ok(t >= before && t <= after, `${before} ≤ ${t} ≤ ${after}`)
    if (!Number.isInteger(t)) fractional++
  }
  assert.ok(fractional > 0, 'some reading falls between two whole µs')
})

test('fastNowUs is the hrtime clock in µs, read through performance.now()', (t) => {
  const { performance } = require('node:perf_hooks')
  // scripts/unit-tests.js runs every unit file in one process, and tasks.unit.test.js
  // shadows performance.now with a fake clock as it loads: read the real one here, through
  // a copy of the module whose offset is taken now.
  const fake = Object.getOwnPropertyDescriptor(performance, 'now')
  if (fake) {
    delete performance.now
    t.after(() => Object.defineProperty(performance, 'now', fake))
  }
  const id = require.resolve('../lib/util/clock')
  const shared = require.cache[id]
  delete require.cache[id]
  const { fastNowUs } = require(id)
  require.cache[id] = shared
  let last = -Infinity
  for (let i = 0; i < 1000; i++) {
    const t = fastNowUs()
    assert.ok(t >= last, 'it never goes back')
    last = t
    assert.ok(Math.abs(t - exactNowUs()) < SECOND_US, `${t} is on the hrtime clock`)
  }
  // It moves with performance.now() in µs, not ms.
  const p0 = performance.now()
  const t0 = fastNowUs()
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
  const movedUs = fastNowUs() - t0
  const perfUs = (performance.now() - p0) * 1000
  assert.ok(movedUs > perfUs / 2 && movedUs < perfUs * 2, `${movedUs} µs against ${perfUs} µs`)
})

test('epochNsOf turns an hrtime instant into ns since the epoch', () => {
  const now = epochNsOf(process.hrtime.bigint())
  assert.equal(typeof now, 'bigint')
  const offUs = Number(now / 1000n) - Date.now() * 1000
  assert.ok(Math.abs(offUs) < SECOND_US, `now is ${offUs} µs off Date.now()`)
  // An instant 5 s before is 5 s before on the wall clock too.
  const mono = process.hrtime.bigint()
  const gapNs = epochNsOf(mono) - epochNsOf(mono - 5_000_000_000n)
  assert.ok(Math.abs(Number(gapNs) - 5e9) < SECOND_US * 1000, `${gapNs} ns apart`)
})
