'use strict'
// Preloaded (`--require`) into every ProfiledWorker before user code. First, before
// anything that can fail, it gives user code exactly what plain Node would show: the
// workerData that was passed and the execArgv plain Node would have, without the APM
// port. Only then does it load the runtime (./runtime.js). A worker where that fails
// (out of file descriptors, say) runs on unprofiled, as a plain Worker would run, and
// answers the parent so that its profiles say why instead of waiting.

const wt = require('node:worker_threads')

// protocol.ENVELOPE, here as a literal: protocol.js is a file to open, and the envelope
// must come off even when no file can be opened.
const ENVELOPE = '__profiledWorkerEnvelope_v1'

function unwrap() {
  if (wt.isMainThread) return null
  const data = wt.workerData
  const env = data !== null && typeof data === 'object' ? data[ENVELOPE] : undefined
  if (!env || typeof env !== 'object' || !env.port) return null
  // Read-only in Node's types; a plain property of the module, which user code then reads.
  const mod = /** @type {any} */ (wt)
  mod.workerData = data.workerData
  process.execArgv = env.execArgv
  return env
}

// The runtime did not load: every start is answered "unprofiled, because <err>", every
// stop at once. The protocol module is tried again then (an EMFILE usually passes).
function unprofiled(env, err) {
  const port = env.port
  const answer = (msg) => {
    try {
      const { build, check } = require('../protocol')
      const m = check.toChild(msg)
      if (m === null) return
      const name = typeof env.threadName === 'string' && env.threadName
      const threadName = name || `worker ${wt.threadId}`
      if (m.t === 'start') port.postMessage(build.unprofiled(wt.threadId, threadName, [m.id], err))
      else if (m.t === 'stop') port.postMessage(build.stopped(m.id, []))
      else if (m.t === 'stop-all') port.postMessage(build.stoppedAll([]))
    } catch {
      // Nothing can be said: the parent's stop times out, as for a busy worker.
    }
  }
  port.on('message', answer)
  port.unref()
  for (const msg of Array.isArray(env.start) ? env.start : []) answer(msg)
}

const env = unwrap()
if (env !== null) {
  try {
    require('./runtime').boot(env)
  } catch (err) {
    // Past its own port listener, the runtime counts its failures itself.
    if (env.port.listenerCount('message') === 0) unprofiled(env, err)
  }
}
