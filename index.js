'use strict'

const native = require('./lib/native')
const { serialize, deserialize } = require('./lib/json')
const { mergeProfiles, monotonicToEpochNanos } = require('./lib/profiles')

module.exports = {
  CpuProfile: native.CpuProfile,
  Report: native.Report,
  threadCpuTime: native.threadCpuTime,
  serialize,
  deserialize,
  mergeProfiles,
  monotonicToEpochNanos,
}
