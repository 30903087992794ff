'use strict'

const errors = require('../util/errors')
const native = require('../util/native')
const { epochNsOf } = require('../util/clock')

/**
 * Merge several threads' profiles into one Report.
 * @param {Array<{profile, threadId, name?, cpuTimeNs?}>} threads
 * @param {{profileId?: string}} [options]
 */
function mergeProfiles(threads, options = {}) {
  if (!Array.isArray(threads)) {
    throw errors.mustBe('mergeProfiles(threads): threads', 'an array', threads)
  }
  if (typeof options !== 'object' || options === null) {
    throw errors.mustBe('mergeProfiles(threads, options): options', 'an object', options)
  }
  const { profileId = '', ...unknown } = options
  const extra = Object.keys(unknown)
  if (extra.length) throw errors.unknownMergeOption(extra[0])
  if (typeof profileId !== 'string') {
    throw errors.mustBe('mergeProfiles: options.profileId', 'a string', profileId)
  }
  const report = new native.Report(profileId)
  threads.forEach((t, i) => {
    const at = `mergeProfiles: threads[${i}]`
    if (typeof t !== 'object' || t === null) throw errors.mustBe(at, 'an object', t)
    if (!(t.profile instanceof native.CpuProfile)) {
      throw errors.mustBe(`${at}.profile`, 'a CpuProfile (from CpuProfile.parse)', t.profile)
    }
    if (!Number.isSafeInteger(t.threadId) || t.threadId < 0) {
      throw errors.notThreadId(`${at}.threadId`, t.threadId)
    }
    const name = t.name ?? ''
    if (typeof name !== 'string') throw errors.mustBe(`${at}.name`, 'a string', name)
    if (t.cpuTimeNs !== undefined && typeof t.cpuTimeNs !== 'bigint') {
      throw errors.mustBe(`${at}.cpuTimeNs`, 'a bigint (ns)', t.cpuTimeNs)
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
    throw errors.notMicros('monotonicToEpochNanos', monotonicMicros)
  }
  return epochNsOf(BigInt(Math.round(monotonicMicros)) * 1000n)
}

module.exports = { mergeProfiles, monotonicToEpochNanos }
