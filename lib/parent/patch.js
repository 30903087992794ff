'use strict'
// Replacing worker_threads.Worker (idempotent, reversible), for CommonJS and ESM alike,
// with MessageChannel and MessagePort#postMessage so that work sent to a worker over a
// transferred port counts too (see channels.js).

const wt = require('node:worker_threads')
const { syncBuiltinESMExports } = require('node:module')
const { makeProfiledWorker, kIsProfiledWorker } = require('./profiled-worker')
const channels = require('./channels')
const face = require('./face')

let original = null

function patch() {
  if (wt.Worker[kIsProfiledWorker]) return wt.Worker
  original = {
    Worker: wt.Worker,
    MessageChannel: wt.MessageChannel,
    globalMessageChannel: globalThis.MessageChannel,
    postMessage: wt.MessagePort.prototype.postMessage,
  }
  wt.Worker = makeProfiledWorker(original.Worker, original.MessageChannel)
  wt.MessageChannel = channels.makeMessageChannel(original.MessageChannel)
  if (globalThis.MessageChannel === original.MessageChannel)
    globalThis.MessageChannel = wt.MessageChannel
  wt.MessagePort.prototype.postMessage = channels.postMessage
  face.install()
  // ESM `import { Worker } from 'node:worker_threads'` reads a snapshot; refresh it.
  syncBuiltinESMExports()
  return wt.Worker
}

function unpatch() {
  if (!original) return
  // Restore only what is still ours: a later replacement by someone else stays.
  if (globalThis.MessageChannel === wt.MessageChannel)
    globalThis.MessageChannel = original.globalMessageChannel
  wt.Worker = original.Worker
  wt.MessageChannel = original.MessageChannel
  if (wt.MessagePort.prototype.postMessage === channels.postMessage)
    wt.MessagePort.prototype.postMessage = original.postMessage
  face.uninstall()
  original = null
  syncBuiltinESMExports()
}

function isPatched() {
  return Boolean(wt.Worker[kIsProfiledWorker])
}

module.exports = { patch, unpatch, isPatched }
