'use strict'
// Replacing worker_threads.Worker (idempotent, reversible), for CommonJS and ESM alike.

const wt = require('node:worker_threads')
const { syncBuiltinESMExports } = require('node:module')
const { makeProfiledWorker, kIsProfiledWorker } = require('./profiled-worker')

let original = null

function patch() {
  if (wt.Worker[kIsProfiledWorker]) return wt.Worker
  original = wt.Worker
  wt.Worker = makeProfiledWorker(original, wt.MessageChannel)
  // ESM `import { Worker } from 'node:worker_threads'` reads a snapshot; refresh it.
  syncBuiltinESMExports()
  return wt.Worker
}

function unpatch() {
  if (!original) return
  wt.Worker = original
  original = null
  syncBuiltinESMExports()
}

function isPatched() {
  return Boolean(wt.Worker[kIsProfiledWorker])
}

module.exports = { patch, unpatch, isPatched }
