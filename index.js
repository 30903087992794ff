'use strict'
// require('profiled-worker') patches worker_threads.Worker; unpatch() undoes it.

const native = require('./lib/native')
const { serialize, deserialize } = require('./lib/json')
const { mergeProfiles, monotonicToEpochNanos } = require('./lib/profiles')
const { makeProfiledWorker } = require('./lib/profiled-worker')
const { patch, unpatch, isPatched } = require('./lib/patch')
const {
  startProfile,
  runProfile,
  activeProfiles,
  currentProfiles,
  recordEffect,
} = require('./lib/api')
const { ProfileReport } = require('./lib/report')
const { trackQueue, contextQueue } = require('./lib/queue')

patch()

module.exports = {
  makeProfiledWorker,
  patch,
  unpatch,
  isPatched,
  startProfile,
  runProfile,
  activeProfiles,
  currentProfiles,
  recordEffect,
  contextQueue,
  trackQueue,
  ProfileReport,
  CpuProfile: native.CpuProfile,
  Report: native.Report,
  threadCpuTime: native.threadCpuTime,
  serialize,
  deserialize,
  mergeProfiles,
  monotonicToEpochNanos,
}
