'use strict'
// workerpool 9 and 10 (CommonJS). Pool#exec runs in the submitting context and returns
// the task's promise; the task reaches a worker through WorkerHandler#exec(method,
// params, resolver), called at once or later from the pool's own callbacks, which sends
// it straight away or, while the worker starts, keeps it in its requestQueue and sends
// it when the worker is ready. The promise links the two; a request left in the queue is
// tagged by its message, which is what the later send carries.

const path = require('node:path')
const submitted = require('./submitted')

let hubModule
const hub = () => (hubModule ??= require('../../thread/hub'))

const kWrapped = Symbol('profiled-worker.exec')
const byPromise = new WeakMap() // task's promise → submitting sessions

function replace(proto, name, make) {
  const descriptor = Object.getOwnPropertyDescriptor(proto, name)
  const original = descriptor?.value
  if (typeof original !== 'function') return false
  if (original[kWrapped]) return true
  const wrapped = make(original)
  Object.defineProperty(wrapped, 'length', { value: original.length })
  Object.defineProperty(wrapped, 'name', { value: original.name })
  Object.defineProperty(wrapped, kWrapped, { value: true })
  Object.defineProperty(proto, name, { ...descriptor, value: wrapped })
  return true
}

const submit = (original) =>
  function exec() {
    const sessions = hub().currentSessions()
    const promise = Reflect.apply(original, this, arguments)
    if (sessions.length > 0 && promise !== null && typeof promise === 'object') {
      byPromise.set(promise, sessions)
    }
    return promise
  }

const send = (original) =>
  function exec(method, params, resolver) {
    const promise = resolver !== null && typeof resolver === 'object' ? resolver.promise : undefined
    const sessions =
      (promise !== null && typeof promise === 'object' && byPromise.get(promise)) ||
      hub().currentSessions()
    if (sessions.length === 0) return Reflect.apply(original, this, arguments)
    const queue = Array.isArray(this.requestQueue) ? this.requestQueue : null
    const before = queue === null ? 0 : queue.length
    const result = submitted.sendAllFor(sessions, original, this, arguments)
    if (queue !== null && queue.length > before) {
      const message = queue[queue.length - 1]?.message
      if (message !== null && typeof message === 'object') submitted.tag(message, sessions)
    }
    return result
  }

module.exports = {
  name: 'workerpool',
  majors: [9, 10],
  instrument(root) {
    const Pool = require.cache[path.join(root, 'src', 'Pool.js')]?.exports
    const WorkerHandler = require.cache[path.join(root, 'src', 'WorkerHandler.js')]?.exports
    if (typeof Pool !== 'function' || typeof WorkerHandler !== 'function') return false
    // Both or neither: a tagged promise nobody reads would only cost memory.
    if (typeof Pool.prototype.exec !== 'function') return false
    if (typeof WorkerHandler.prototype.exec !== 'function') return false
    return replace(WorkerHandler.prototype, 'exec', send) && replace(Pool.prototype, 'exec', submit)
  },
}
