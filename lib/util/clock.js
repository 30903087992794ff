'use strict'
// The clocks the profiler reads. V8 stamps its samples with the process.hrtime clock in
// µs, so every time that is compared with a sample is on that clock; pprof and the
// exporters want wall-clock time since the epoch, converted from it here.

/** Now on the hrtime clock in whole µs (rounded down): profile windows and periods. */
function nowUs() {
  return Number(process.hrtime.bigint() / 1000n)
}

/** Now on the hrtime clock in µs, with its fraction: a bound read around a V8 call. */
function exactNowUs() {
  return Number(process.hrtime.bigint()) / 1000
}

// performance.now() is cheaper than process.hrtime.bigint(); its origin is fixed, so one
// offset puts it on the hrtime clock. Taken on first use: loading perf_hooks adds to a
// worker's start, and most workers are never profiled.
let performance
let originUs
/** Now on the hrtime clock in fractional µs, read through performance.now(). */
function fastNowUs() {
  if (originUs === undefined) {
    performance = require('node:perf_hooks').performance
    originUs = exactNowUs() - performance.now() * 1000
  }
  return originUs + performance.now() * 1000
}

/** The wall-clock time in ns since the epoch of `monoNs`, an instant in hrtime ns. */
function epochNsOf(monoNs) {
  return BigInt(Date.now()) * 1_000_000n - (process.hrtime.bigint() - monoNs)
}

module.exports = { nowUs, exactNowUs, fastNowUs, epochNsOf }
