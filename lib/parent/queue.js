'use strict'
// Task queues that remember which profiles submitted each task.
//
// A pool sends a task the moment a worker is free. When none is, the task waits in the
// pool's queue and is sent later from whatever async context frees a worker — usually
// the completion of another request's task — so the sending context says nothing about
// who asked for it. A tracked queue records the submitting context's profiles when the
// pool pushes a task and hands them to the send that follows when the pool takes it out
// (pools take a task and send it in one synchronous step).

const hub = require('../thread/hub')
const errors = require('../util/errors')
const { sendNextFor } = require('./channels')

const TAKE = new Set(['shift', 'pop'])

/**
 * Wrap a pool's task queue (any object with `push` and `shift` or `pop`; everything
 * else passes through unchanged, so it keeps the interface the pool expects).
 */
function trackQueue(queue) {
  if (
    queue === null ||
    typeof queue !== 'object' ||
    typeof queue.push !== 'function' ||
    (typeof queue.shift !== 'function' && typeof queue.pop !== 'function')
  ) {
    throw errors.invalidArgType(
      'trackQueue(queue): queue',
      'a task queue object with push() and shift() or pop()',
      queue,
    )
  }
  const submittedBy = new WeakMap() // task → sessions (possibly none)
  const methods = new Map()
  return new Proxy(queue, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      let m = methods.get(prop)
      if (m === undefined || m.original !== value) {
        m = { original: value, bound: wrap(target, prop, value) }
        methods.set(prop, m)
      }
      return m.bound
    },
  })

  function wrap(target, prop, fn) {
    if (prop === 'push') {
      return function push(task, ...rest) {
        // A task the pool puts back (it found no worker after all) keeps its submitter.
        if (task !== null && typeof task === 'object' && !submittedBy.has(task)) {
          submittedBy.set(task, hub.currentSessions())
        }
        return Reflect.apply(fn, target, [task, ...rest])
      }
    }
    if (TAKE.has(prop)) {
      return function take(...args) {
        const task = Reflect.apply(fn, target, args)
        const sessions = task !== null && typeof task === 'object' && submittedBy.get(task)
        if (sessions) sendNextFor(sessions)
        return task
      }
    }
    return fn.bind(target)
  }
}

// FIFO queues with each pool's interface: Piscina and tinypool read `size` as a property
// and take with shift(); workerpool calls size() and takes with pop().
class Fifo {
  constructor() {
    this.items = []
  }
  push(task) {
    this.items.push(task)
  }
  shift() {
    return this.items.shift() ?? null
  }
  remove(task) {
    const i = this.items.indexOf(task)
    if (i >= 0) this.items.splice(i, 1)
  }
  contains(task) {
    return this.items.includes(task)
  }
  clear() {
    this.items.length = 0
  }
  // tinypool's cancelPendingTasks(): each task settles as cancelled, as its own queue does.
  cancel() {
    while (this.items.length > 0) this.items.pop()?.cancel?.()
  }
}

class PiscinaFifo extends Fifo {
  get size() {
    return this.items.length
  }
}

class WorkerpoolFifo extends Fifo {
  size() {
    return this.items.length
  }
  pop() {
    return this.items.shift()
  }
}

const KINDS = {
  piscina: PiscinaFifo,
  tinypool: PiscinaFifo,
  workerpool: WorkerpoolFifo,
}

/**
 * A tracked FIFO queue for a pool: `new Piscina({ taskQueue: contextQueue('piscina') })`,
 * tinypool likewise, `workerpool.pool(file, { queueStrategy: contextQueue('workerpool') })`.
 */
function contextQueue(kind = 'piscina') {
  const Queue = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined
  if (Queue === undefined) {
    throw errors.invalidArgType(
      'contextQueue(kind): kind',
      `one of ${Object.keys(KINDS)
        .map((k) => `'${k}'`)
        .join(', ')}`,
      kind,
    )
  }
  return trackQueue(new Queue())
}

module.exports = { trackQueue, contextQueue }
