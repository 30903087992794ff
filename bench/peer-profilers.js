'use strict'
// The peer profilers, started the way each one documents, from inside a worker. Shared by
// soak/robustness-peers.js (terminate while profiling) and scenarios/profiling-cost.js
// (sampling overhead). The peers live in bench/peers, an isolated package
// (npm run bench:peers:install); they are never dependencies of profiled-worker.

const path = require('node:path')

const PEERS_DIR = path.join(__dirname, 'peers')

/** Every peer: the key used in arms, its npm name, and what runs in the worker. */
const PEERS = [
  {
    key: 'v8-profiler-next',
    name: 'v8-profiler-next',
    what: "require('v8-profiler-next').startProfiling(title, true) in the worker",
  },
  {
    key: 'sentry',
    name: '@sentry/node-cpu-profiler',
    what: "CpuProfilerBindings.startProfiling(title) from require('@sentry/node-cpu-profiler') in the worker",
    // bindings/cpu_profiler.cc: kSamplingFrequency 99 Hz, not settable from JS.
    fixedIntervalUs: 10101,
  },
  {
    key: 'datadog',
    name: '@datadog/pprof',
    what: "require('@datadog/pprof').time.start({ intervalMicros: 1000 }) in the worker",
  },
]

/** The peer's entry point in bench/peers; throws (code MODULE_NOT_FOUND) when missing. */
function resolvePeer(name) {
  return require.resolve(name, { paths: [PEERS_DIR] })
}

/**
 * Start CPU profiling of the calling thread with `kind` ('v8-profiler-next', 'sentry',
 * 'datadog' or 'inspector', the raw node:inspector Profiler domain). Returns stop(),
 * which stops it and returns the number of samples taken.
 */
function startProfiler(kind, { peerPath, intervalUs = 1000 } = {}) {
  switch (kind) {
    case 'v8-profiler-next': {
      const profiler = require(peerPath)
      profiler.setGenerateType(1)
      profiler.setSamplingInterval(intervalUs)
      profiler.startProfiling('cycle', true)
      return () => {
        const p = profiler.stopProfiling('cycle')
        const n = p.samples?.length ?? 0
        p.delete()
        return n
      }
    }
    case 'sentry': {
      // No interval option: the addon samples at a fixed 99 Hz.
      const { CpuProfilerBindings, ProfileFormat } = require(peerPath)
      CpuProfilerBindings.startProfiling('cycle')
      return () => {
        const p = CpuProfilerBindings.stopProfiling('cycle', ProfileFormat.THREAD)
        return p?.samples?.length ?? 0
      }
    }
    case 'datadog': {
      const { time } = require(peerPath)
      time.start({ intervalMicros: intervalUs })
      return () => time.stop().sample.reduce((n, x) => n + Number(x.value[0]), 0)
    }
    case 'inspector': {
      const { Session } = require('node:inspector')
      const session = new Session()
      session.connect()
      let out
      // A same-thread session answers synchronously.
      const post = (method, params) =>
        session.post(method, params, (err, res) => {
          if (err) throw err
          out = res
        })
      post('Profiler.enable')
      post('Profiler.setSamplingInterval', { interval: intervalUs })
      post('Profiler.start')
      return () => {
        post('Profiler.stop')
        session.disconnect()
        return out.profile.samples.length
      }
    }
    default:
      throw new Error(`unknown profiler ${kind}`)
  }
}

module.exports = { PEERS, PEERS_DIR, resolvePeer, startProfiler }
