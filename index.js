'use strict'
// require('profiled-worker') patches worker_threads.Worker; unpatch() undoes it.
//
// This file also loads in every worker of an app started with `-r profiled-worker`
// (workers inherit the flag), so it loads only the patch itself: the profiling modules
// load with the first profile, and the addon on first use (lib/util/native.js).

const native = require('./lib/util/native')
const { makeProfiledWorker } = require('./lib/parent/profiled-worker')
const { patch, unpatch, isPatched } = require('./lib/parent/patch')

const api = () => require('./lib/main/api')
const json = () => require('./lib/util/json')
const profiles = () => require('./lib/main/profiles')
const queue = () => require('./lib/parent/queue')
const continuous = () => require('./lib/continuous')

// A function with the same name and length that loads `load()`'s module on its first call.
function lazy(name, length, load) {
  const fn = {
    [name]() {
      return Reflect.apply(load()[name], this, arguments)
    },
  }[name]
  Object.defineProperty(fn, 'length', { value: length })
  return fn
}

// The addon's classes, loaded on first touch (construction, a static, instanceof). Where
// the addon cannot load, each touch throws its load error with Node's code.
function lazyClass(name) {
  const real = () => native.load()[name]
  return new Proxy(function () {}, {
    get: (_, key) => Reflect.get(real(), key),
    has: (_, key) => Reflect.has(real(), key),
    construct: (_, args, newTarget) => Reflect.construct(real(), args, newTarget),
    apply: (_, self, args) => Reflect.apply(real(), self, args),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  })
}

patch()

module.exports = {
  makeProfiledWorker,
  patch,
  unpatch,
  isPatched,
  startProfile: lazy('startProfile', 1, api),
  runProfile: lazy('runProfile', 2, api),
  activeProfiles: lazy('activeProfiles', 0, api),
  currentProfiles: lazy('currentProfiles', 0, api),
  recordEffect: lazy('recordEffect', 2, api),
  startContinuous: lazy('startContinuous', 1, continuous),
  contextQueue: lazy('contextQueue', 0, queue),
  trackQueue: lazy('trackQueue', 1, queue),
  ProfileReport: require('./lib/main/report').ProfileReport,
  CpuProfile: lazyClass('CpuProfile'),
  Report: lazyClass('Report'),
  Period: lazyClass('Period'),
  threadCpuTime: lazy('threadCpuTime', 0, native.load),
  serialize: lazy('serialize', 2, json),
  deserialize: lazy('deserialize', 1, json),
  mergeProfiles: lazy('mergeProfiles', 1, profiles),
  monotonicToEpochNanos: lazy('monotonicToEpochNanos', 1, profiles),
}
