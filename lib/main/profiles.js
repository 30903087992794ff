'use strict'

const { describe } = require('../util/errors')
const native = require('../util/native')
const { epochNsOf } = require('../util/clock')

/**
 * Merge several threads' profiles into one Report.
 * @param {Array<{profile, threadId, name?, cpuTimeNs?}>} threads
 * @param {{profileId?: string}} [options]
 */
function mergeProfiles(threads, options = {}) {
  if (!Array.isArray(threads)) {
    throw new TypeError(
      `mergeProfiles(threads): threads must be an array, got ${describe(threads)}`,
    )
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `mergeProfiles(threads, options): options must be an object, got ${describe(options)}`,
    )
  }
  const { profileId = '', ...unknown } = options
  const extra = Object.keys(unknown)
  if (extra.length) throw new TypeError(`mergeProfiles: unknown option ${JSON.stringify(extra[0])}`)
  if (typeof profileId !== 'string') {
    throw new TypeError(
      `mergeProfiles: options.profileId must be a string, got ${describe(profileId)}`,
    )
  }
  const report = new native.Report(profileId)
  threads.forEach((t, i) => {
    const at = `mergeProfiles: threads[${i}]`
    if (typeof t !== 'object' || t === null)
      throw new TypeError(`${at} must be an object, got ${describe(t)}`)
    if (!(t.profile instanceof native.CpuProfile)) {
      throw new TypeError(
        `${at}.profile must be a CpuProfile (from CpuProfile.parse), got ${describe(t.profile)}`,
      )
    }
    if (!Number.isSafeInteger(t.threadId) || t.threadId < 0) {
      throw new TypeError(
        `${at}.threadId must be a non-negative integer, got ${String(t.threadId)}`,
      )
    }
    const name = t.name ?? ''
    if (typeof name !== 'string')
      throw new TypeError(`${at}.name must be a string, got ${describe(name)}`)
    if (t.cpuTimeNs !== undefined && typeof t.cpuTimeNs !== 'bigint') {
      throw new TypeError(`${at}.cpuTimeNs must be a bigint (ns), got ${describe(t.cpuTimeNs)}`)
    }
    report.addThread(t.profile, t.threadId, name, t.cpuTimeNs)
  })
  return report
}

/**
 * V8 profile times are µs on the monotonic clock of process.hrtime. pprof wants the
 * wall-clock start in ns since the epoch; this converts one to the other, as of now.
 */
function monotonicToEpochNanos(monotonicMicros) {
  if (typeof monotonicMicros !== 'number' || !Number.isFinite(monotonicMicros)) {
    throw new TypeError(
      `monotonicToEpochNanos: expected a finite number of µs, got ${describe(monotonicMicros)}`,
    )
  }
  return epochNsOf(BigInt(Math.round(monotonicMicros)) * 1000n)
}

module.exports = { mergeProfiles, monotonicToEpochNanos }
