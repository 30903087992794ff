'use strict'
// require('profiled-worker') patches worker_threads.Worker; unpatch() undoes it.

const native = require('./lib/util/native')
const { serialize, deserialize } = require('./lib/util/json')
const { mergeProfiles, monotonicToEpochNanos } = require('./lib/main/profiles')
const { makeProfiledWorker } = require('./lib/parent/profiled-worker')
const { patch, unpatch, isPatched } = require('./lib/parent/patch')
const {
  startProfile,
  runProfile,
  activeProfiles,
  currentProfiles,
  recordEffect,
} = require('./lib/main/api')
const { ProfileReport } = require('./lib/main/report')
const { startContinuous } = require('./lib/continuous')
const { trackQueue, contextQueue } = require('./lib/parent/queue')

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
  startContinuous,
  contextQueue,
  trackQueue,
  ProfileReport,
  CpuProfile: native.CpuProfile,
  Report: native.Report,
  Period: native.Period,
  threadCpuTime: native.threadCpuTime,
  serialize,
  deserialize,
  mergeProfiles,
  monotonicToEpochNanos,
}
