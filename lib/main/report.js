'use strict'
// The result of one profile: every thread that worked for it, with its CPU profile and
// effects, and the conversions to the formats tools read.

const { mergeProfiles } = require('./profiles')
const errors = require('../util/errors')
const native = require('../util/native')
const { epochNsOf } = require('../util/clock')

const FLAMEGRAPH_OPTIONS = ['title', 'minWidth', 'idle']

function defaultTitle(report) {
  const ms = (Number(report.endNs - report.startNs) / 1e6).toFixed(0)
  return `${report.name ? `${report.name} — ` : ''}profile ${report.id}, ${ms} ms`
}

function flamegraphOptions(where, report, options) {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw errors.invalidArgType(`${where}: options`, 'an object', options)
  for (const key of Object.keys(options))
    if (!FLAMEGRAPH_OPTIONS.includes(key))
      throw errors.unknownOption(where, key, FLAMEGRAPH_OPTIONS)
  const { title = defaultTitle(report), minWidth, idle } = options
  if (typeof title !== 'string')
    throw errors.invalidArgType(`${where}: options.title`, 'a string', title)
  if (minWidth !== undefined && typeof minWidth !== 'number')
    throw errors.invalidArgType(`${where}: options.minWidth`, 'a number (%)', minWidth)
  // The range is the Rust core's rule; asked here so that the error names this call.
  const expected = minWidth === undefined ? null : native.flamegraphMinWidthProblem(minWidth)
  if (expected) throw errors.outOfRange(`${where}: options.minWidth`, expected, minWidth)
  if (idle !== undefined && typeof idle !== 'boolean')
    throw errors.invalidArgType(`${where}: options.idle`, 'a boolean', idle)
  return { title, minWidth, idle }
}

class ProfileReport {
  constructor({ id, name, startNs, endNs, threads }) {
    this.id = id
    this.name = name
    this.startNs = startNs
    this.endNs = endNs
    this.threads = threads
  }

  /** The native Report of every thread (labels: thread_id, thread_name, profile_id). */
  merged() {
    return mergeProfiles(
      this.threads.map((t) => ({
        profile: t.profile,
        threadId: t.threadId,
        name: t.name,
        cpuTimeNs:
          typeof t.effects.cpuTimeNs === 'bigint' && t.effects.cpuTimeNs >= 0n
            ? t.effects.cpuTimeNs
            : undefined,
      })),
      { profileId: String(this.id) },
    )
  }

  thread(threadId) {
    return this.threads.find((t) => t.threadId === threadId)
  }

  pprofOptions(options) {
    return { timeNanos: epochNsOf(this.startNs), ...options }
  }

  toPprof(options) {
    return this.merged().toPprof(this.pprofOptions(options))
  }

  toPprofAsync(options) {
    return this.merged().toPprofAsync(this.pprofOptions(options))
  }

  toCollapsed() {
    return this.merged().toCollapsed()
  }

  toCollapsedAsync() {
    return this.merged().toCollapsedAsync()
  }

  /** A flame graph SVG: one tower per thread, frames `function (file:line)`. */
  toFlamegraph(options) {
    return this.merged().toFlamegraph(flamegraphOptions('toFlamegraph()', this, options))
  }

  toFlamegraphAsync(options) {
    return this.merged().toFlamegraphAsync(flamegraphOptions('toFlamegraphAsync()', this, options))
  }

  /** One `.cpuprofile` JSON text per thread: [{ threadId, name, json }]. */
  toCpuprofiles() {
    return this.threads.map((t) => ({
      threadId: t.threadId,
      name: t.name,
      json: t.profile.toCpuprofile(),
    }))
  }

  /** For serialize(): BigInts stay BigInts; profiles become `.cpuprofile` objects. */
  toJSON() {
    return {
      id: this.id,
      name: this.name,
      startNs: this.startNs,
      endNs: this.endNs,
      threads: this.threads.map((t) => ({ ...t, profile: JSON.parse(t.profile.toCpuprofile()) })),
    }
  }
}

module.exports = { ProfileReport }
