'use strict'
// Continuous profiling: the main thread and every worker sampled all the time at a
// production rate, one profile per period, each pushed to the backends (lib/export/) and
// labelled with the threads and the requests its samples worked for.
//
// Periods are the windows of processScope() (as the CLI's --every cuts them): the next
// starts before the last stops, so no sample falls between two, and a period is encoded
// and sent while the next one runs, never waiting for it.

const path = require('node:path')
const native = require('../util/native')
const errors = require('../util/errors')
const { processScope } = require('../main/api')
const { observers } = require('../main/session')
const { nowUs } = require('../util/clock')
const { isIntervalUs } = require('../protocol')
const { RequestLog, mainThreadSpans } = require('./requests')
const { pyroscopeExporter } = require('../export/pyroscope')
const { otlpExporter } = require('../export/otlp')
const { env } = require('../export/env')

const DEFAULT_PERIOD_MS = 60_000
const DEFAULT_HZ = 100
const MIN_PERIOD_MS = 100
// How long stop() waits, in all, for the last periods to reach the backends.
const DEFAULT_FLUSH_MS = 5000
const OPTION_NAMES = [
  'serviceName',
  'periodMs',
  'sampleRateHz',
  'samplingIntervalUs',
  'mainThread',
  'pyroscope',
  'otlp',
  'onPeriod',
  'flushTimeoutMs',
  'queueSize',
  'retries',
  'timeoutMs',
  'backoffMs',
]

let running = null // one continuous profiler per process

function version() {
  try {
    return require('../../package.json').version
  } catch {
    return ''
  }
}

function exporterOptions(where, v) {
  if (v === undefined || v === false || v === null) return null
  if (v === true) return {}
  if (typeof v === 'string') return { url: v }
  if (typeof v === 'object' && !Array.isArray(v)) return v
  throw errors.invalidArgType(where, 'a URL string, an options object or true', v)
}

/** @param {Record<string, any>} [options] */
function parse(options = {}) {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw errors.invalidArgType('startContinuous(): options', 'an object', options)
  for (const key of Object.keys(options))
    if (!OPTION_NAMES.includes(key))
      throw errors.unknownOption('startContinuous()', key, OPTION_NAMES)
  const periodMs = options.periodMs ?? DEFAULT_PERIOD_MS
  if (typeof periodMs !== 'number' || !(periodMs >= MIN_PERIOD_MS) || !Number.isFinite(periodMs))
    throw errors.outOfRange(
      'startContinuous(): options.periodMs',
      `a number of ms >= ${MIN_PERIOD_MS}`,
      periodMs,
    )
  const hz = options.sampleRateHz ?? DEFAULT_HZ
  if (typeof hz !== 'number' || !(hz >= 1 && hz <= 10_000))
    throw errors.outOfRange(
      'startContinuous(): options.sampleRateHz',
      'a number from 1 to 10000',
      hz,
    )
  let intervalUs = Math.max(1, Math.round(1e6 / hz))
  if (options.samplingIntervalUs !== undefined) {
    if (!isIntervalUs(options.samplingIntervalUs))
      throw errors.outOfRange(
        'startContinuous(): options.samplingIntervalUs',
        'an integer from 1 to 1000000 (µs)',
        options.samplingIntervalUs,
      )
    intervalUs = options.samplingIntervalUs
  }
  const mainThread = options.mainThread ?? true
  if (typeof mainThread !== 'boolean')
    throw errors.invalidArgType('startContinuous(): options.mainThread', 'a boolean', mainThread)
  if (options.onPeriod !== undefined && typeof options.onPeriod !== 'function')
    throw errors.invalidArgType(
      'startContinuous(): options.onPeriod',
      'a function',
      options.onPeriod,
    )
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?js$/, '') : ''
  const serviceName = options.serviceName ?? env('OTEL_SERVICE_NAME') ?? (script || 'node')
  if (typeof serviceName !== 'string' || serviceName === '')
    throw errors.invalidArgType(
      'startContinuous(): options.serviceName',
      'a non-empty string',
      serviceName,
    )
  const sender = {}
  for (const k of ['queueSize', 'retries', 'timeoutMs', 'backoffMs']) {
    const v = options[k]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'retries' ? 0 : 1))
      throw errors.outOfRange(`startContinuous(): options.${k}`, 'a positive integer', v)
    sender[k] = v
  }
  const defaults = { serviceName, version: version(), sender }
  const exporters = []
  const p = exporterOptions('startContinuous(): options.pyroscope', options.pyroscope)
  if (p) exporters.push(pyroscopeExporter(p, defaults))
  const o = exporterOptions('startContinuous(): options.otlp', options.otlp)
  if (o) exporters.push(otlpExporter(o, defaults))
  return {
    periodMs,
    intervalUs,
    mainThread,
    onPeriod: options.onPeriod ?? null,
    flushMs: options.flushTimeoutMs ?? DEFAULT_FLUSH_MS,
    serviceName,
    exporters,
  }
}

/** Labels every sample of a request carries. */
function labelsOf(r) {
  return r.name ? [{ key: 'profile_name', value: r.name }] : []
}

/** The native Period of one stopped period: its threads, and the requests in each. */
function periodOf(report, requests, t0, t1, { mainThread, intervalUs }) {
  const period = new native.Period(intervalUs)
  const main = mainThread ? mainThreadSpans(requests, t0, t1) : new Map()
  for (const t of report.threads) {
    period.addThread(t.profile, t.threadId, t.name)
    for (const r of requests) {
      let spans
      if (t.threadId === 0) spans = main.get(r)
      else if (r.threads.has(t.threadId)) {
        // No spans: the worker was the request's whole, for the request's window.
        spans = r.threads.get(t.threadId) ?? [Math.max(r.t0, t0), Math.min(r.t1, t1)]
      }
      if (!spans || spans.length === 0) continue
      const flat = Float64Array.from(spans)
      let ok = true
      for (let k = 0; k < flat.length; k += 2) if (!(flat[k + 1] >= flat[k])) ok = false
      if (!ok) continue
      period.attribute(t.threadId, flat, labelsOf(r), r.link?.traceId, r.link?.spanId)
    }
  }
  return period
}

class Continuous {
  constructor(o) {
    this.o = o
    this.log = new RequestLog()
    this.scope = processScope()
    this.current = null // { profile, t0, startMs }
    this.pending = new Set() // periods stopping or encoding
    this.counts = { periods: 0, samples: 0, errors: 0 }
    this.lastError = null
    this.stopping = null
    observers.add(this.log)
    this.startPeriod()
    this.timer = setInterval(() => this.rotate(), o.periodMs)
    // Continuous profiling never keeps the app alive.
    this.timer.unref()
  }

  startPeriod() {
    try {
      const profile = this.scope.start({
        name: `${this.o.serviceName} (continuous)`,
        samplingIntervalUs: this.o.intervalUs,
        // A period holds the whole main thread; requests' shares are labelled in it.
        mainThread: this.o.mainThread ? 'whole' : false,
      })
      this.current = { profile, t0: nowUs(), startMs: Date.now() }
    } catch (err) {
      this.current = null
      this.fail(err)
    }
  }

  fail(err) {
    this.counts.errors++
    this.lastError = String(err?.message ?? err)
  }

  rotate() {
    const last = this.current
    this.startPeriod()
    if (last) this.finish(last)
  }

  finish(entry) {
    const t1 = nowUs()
    const endMs = Date.now()
    const job = entry.profile
      .stop()
      .then(async (report) => {
        const requests = this.log.take(entry.t0, t1)
        const period = periodOf(report, requests, entry.t0, t1, this.o)
        this.counts.periods++
        this.counts.samples += period.sampleCount
        const timeNanos = BigInt(entry.startMs) * 1_000_000n
        for (const e of this.o.exporters) {
          e.push({
            period,
            timeNanos,
            startMs: entry.startMs,
            endMs,
            intervalUs: this.o.intervalUs,
          })
        }
        if (this.o.onPeriod) await this.o.onPeriod(report, period)
      })
      .catch((err) => this.fail(err))
      .finally(() => this.pending.delete(job))
    this.pending.add(job)
    return job
  }

  stats() {
    const exporters = {}
    for (const e of this.o.exporters) exporters[e.name] = e.sender.stats()
    return { ...this.counts, lastError: this.lastError, running: this.stopping === null, exporters }
  }

  stop() {
    this.stopping ??= (async () => {
      clearInterval(this.timer)
      const last = this.current
      this.current = null
      if (last) this.finish(last)
      await Promise.all([...this.pending])
      observers.delete(this.log)
      await Promise.all(this.o.exporters.map((e) => e.sender.flush(this.o.flushMs)))
      if (running === this) running = null
      return this.stats()
    })()
    return this.stopping
  }

  /** For the CLI at process exit: stop the period now, synchronously; nothing is sent. */
  stopNow(budgetMs) {
    clearInterval(this.timer)
    const last = this.current
    this.current = null
    observers.delete(this.log)
    if (running === this) running = null
    this.stopping ??= Promise.resolve(this.stats())
    return last ? last.profile.stopNow(budgetMs) : null
  }
}

/** Public view of the continuous profiler. */
class ContinuousHandle {
  #c
  constructor(c) {
    this.#c = c
  }
  /** Counts: periods, samples, errors, and per exporter sent/failed/dropped/retried/queued. */
  stats() {
    return this.#c.stats()
  }
  /** Stop; the last period is sent (within flushTimeoutMs). Resolves with stats(). */
  stop() {
    return this.#c.stop()
  }
  stopNow(budgetMs) {
    return this.#c.stopNow(budgetMs)
  }
}

function startContinuous(options) {
  const wt = require('node:worker_threads')
  if (!wt.isMainThread) {
    throw errors.mainThreadOnly('startContinuous()')
  }
  if (running !== null) {
    throw errors.continuousRunning()
  }
  const o = parse(options)
  running = new Continuous(o)
  return new ContinuousHandle(running)
}

module.exports = { startContinuous, DEFAULT_PERIOD_MS, DEFAULT_HZ }
