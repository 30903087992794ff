'use strict'
// Piscina and tinypool: `pool.run(task, options)` keeps options.transferList as the task's
// transfer list (a fresh [] when there is none) and sends it with the task, whenever the
// task leaves the queue. So run() is given a transfer list of our own, tagged with the
// submitting context's profiles: same contents, so the pool and the worker see the same
// task; only its identity is new.

const submitted = require('./submitted')

let hubModule
const hub = () => (hubModule ??= require('../../thread/hub'))

const kWrapped = Symbol('profiled-worker.run')

// What the pool reads of options: own enumerable properties (it copies them with a spread
// into a null-prototype object), so an inherited transferList is none.
function ownTransferList(options) {
  return Object.prototype.propertyIsEnumerable.call(options, 'transferList')
    ? options.transferList
    : undefined
}

/** Wrap `proto.run` (idempotent). */
function wrapRun(proto) {
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'run')
  const original = descriptor?.value
  if (typeof original !== 'function') return false
  if (original[kWrapped]) return true
  function run(task, options) {
    const sessions = hub().currentSessions()
    // Outside every profile, and for anything the pool itself rejects: the user's call as is.
    if (sessions.length === 0 || arguments.length > 2) {
      return Reflect.apply(original, this, arguments)
    }
    const given = arguments.length < 2 || options === undefined ? {} : options
    if (given === null || typeof given !== 'object') return Reflect.apply(original, this, arguments)
    const list = ownTransferList(given)
    if (list !== undefined && !Array.isArray(list)) return Reflect.apply(original, this, arguments)
    const ours = list === undefined ? [] : Array.prototype.slice.call(list)
    submitted.tag(ours, sessions)
    return Reflect.apply(original, this, [task, { ...given, transferList: ours }])
  }
  Object.defineProperty(run, 'length', { value: original.length })
  Object.defineProperty(run, 'name', { value: original.name })
  Object.defineProperty(run, kWrapped, { value: true })
  Object.defineProperty(proto, 'run', { ...descriptor, value: run })
  return true
}

module.exports = { wrapRun }
