'use strict'
// The result of one profile: every thread that worked for it, with its CPU profile and
// effects, and the conversions to the formats tools read.

const { mergeProfiles } = require('./profiles')

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
    const wallStartNs = BigInt(Date.now()) * 1_000_000n - (process.hrtime.bigint() - this.startNs)
    return { timeNanos: wallStartNs, ...options }
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
