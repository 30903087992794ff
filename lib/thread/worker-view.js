'use strict'
// In a worker: what the package's own modules (the API, the Worker class, channels) may
// ask of the runtime's hub, and nothing more: no way to post on the private port, no
// sampler, no task tracker. The runtime installs its hub here once, before user code
// runs; a later install is ignored. Small and without dependencies: it loads at every
// worker's start.

const { AsyncLocalStorage } = require('node:async_hooks')

let installed = null

module.exports = {
  /** @param {() => any} getHub the runtime's hub, or null until its first profile */
  install(getHub) {
    installed ??= getHub
  },
  get threadName() {
    return installed?.()?.threadName ?? ''
  },
  // A copy: the runtime's map stays its own.
  get sessions() {
    return new Map(installed?.()?.sessions)
  },
  // Async contexts carry profiles on the main thread only.
  context: new AsyncLocalStorage(),
  /** This thread's sessions the running code works for (see worker/tasks.js). */
  currentSessions() {
    return installed?.()?.currentSessions() ?? []
  },
}
