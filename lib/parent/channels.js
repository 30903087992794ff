'use strict'
// Work sent to a worker over a MessagePort counts like work sent with worker.postMessage.
//
// Pools (Piscina, tinypool) transfer one end of a MessageChannel into each worker and
// send every task through the other end, so watching Worker#postMessage alone sees none
// of them. While patched, every MessageChannel records its two ends; when one end is
// transferred into a ProfiledWorker (in workerData, with worker.postMessage, or through
// a port that already leads into it), the end this thread keeps becomes a *route* into
// that worker with its own key. A send on a route (or on the worker itself, key 0) from a
// context whose profiles differ from the last send's is announced on the worker's APM
// port first: key, sequence number on that channel, the profiles of the sending context,
// and the paths of any ports it carries. The worker's runtime matches the announcement to
// the message when it dispatches it (see worker/tasks.js), so the user's message itself
// is never touched, delayed or reordered.

const { build } = require('../protocol')
const intrinsics = require('../util/intrinsics')
const { isMainThread } = require('node:worker_threads')
// Loaded with the first send on a link, after the pools' integration (instrument/) is.
let submittedModule
const submitted = () => (submittedModule ??= require('./instrument/submitted'))
const face = require('./face')

// Required on first use, like in profiled-worker.js: this module loads before a worker's
// user code.
let hubModule
const hub = () => (hubModule ??= require('../thread/hub'))

const { post, postMessage: originalPostMessage, MessagePort } = intrinsics

// Each end of every MessageChannel created while patched → the other end.
const siblings = new WeakMap()
// A port whose other end lives in a ProfiledWorker → { link, key, seq }.
const routes = new WeakMap()

// Set by the queue integration (lib/parent/queue.js): the profiles a queued task was submitted
// from, for the next send only.
let pending = null

function takePending() {
  const p = pending
  pending = null
  return p
}

/** For the next send in this synchronous turn: the profiles that submitted it. */
function sendNextFor(sessions) {
  pending = sessions
  queueMicrotask(() => {
    if (pending === sessions) pending = null
  })
}

function transferListOf(arg) {
  if (Array.isArray(arg)) return arg
  if (arg instanceof Set) return [...arg]
  if (arg !== null && typeof arg === 'object' && Array.isArray(arg.transfer)) return arg.transfer
  return null
}

const WALK_BUDGET = 10_000

// Where `port` sits in `value`, as the property path the receiver follows in its copy.
// Structured clone keeps own enumerable properties and their order, so the same path
// leads to the received port. Maps, Sets and deep or huge values are not searched: a
// port there is delivered but not watched.
function pathTo(value, port) {
  if (value === port) return []
  const seen = new Set()
  const stack = [[value, []]]
  let budget = WALK_BUDGET
  while (stack.length > 0 && budget-- > 0) {
    const [v, path] = stack.pop()
    if (v === null || typeof v !== 'object' || seen.has(v) || path.length > 16) continue
    if (v instanceof MessagePort || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) continue
    if (v instanceof Map || v instanceof Set) continue
    seen.add(v)
    const keys = Array.isArray(v) ? v.keys() : Object.keys(v)
    for (const k of keys) {
      let child
      try {
        child = v[k]
      } catch {
        continue
      }
      const at = [...path, k]
      if (child === port) return at
      if (child !== null && typeof child === 'object') stack.push([child, at])
    }
  }
  return null
}

/**
 * Ports in `transfer` whose other end this thread holds become routes into `link`'s
 * worker. Returns [{ path, key, end }] for the announcement, or null.
 */
function adopt(link, value, transfer) {
  let found = null
  for (const item of transfer) {
    const end = siblings.get(item)
    if (end === undefined) continue
    // The transferred port is no longer ours to send on.
    routes.delete(item)
    const path = pathTo(value, item)
    if (path === null) continue
    const key = link.nextKey++
    routes.set(end, { link, key, seq: 0, said: undefined })
    ;(found ??= []).push({ path, key, end })
  }
  return found
}

/** Ports leaving this thread: set by the worker runtime to drop what it watches. */
let onTransferOut = null

function setTransferOutHook(fn) {
  // In a worker the runtime sets it before user code runs, once: user code cannot
  // replace it.
  if (!isMainThread && onTransferOut !== null) return
  onTransferOut = fn
}

/**
 * Send one user message on a channel into a ProfiledWorker: announce it, then `send()`
 * it. `route` is { link, key, seq, said }; `value` is the user's message and `transfer`
 * its transfer list (transferListOf), or null.
 */
function sendOn(route, value, transfer, send) {
  const link = route.link
  if (link.closed) return send()
  const queued = takePending()
  const sessions = (
    submitted().submitterOf(value, transfer) ??
    queued ??
    hub().currentSessions()
  ).filter((s) => s.state === 'active')
  link.startFor(sessions)
  const ports = transfer === null ? null : adopt(link, value, transfer)
  const n = route.seq + 1
  const ids = sessions.map((s) => s.id)
  const said = ids.join()
  // An announcement holds for the channel's next messages until the next one, so a
  // stream of messages from one context costs one. Nothing is said while no profile is
  // involved: the worker then counts the messages and leaves their context alone.
  const announce =
    ports !== null ||
    (said !== route.said && (ids.length > 0 || link.sessions.size > 0 || route.said !== undefined))
  const before = route.said
  if (announce) {
    const carried = ports === null ? undefined : ports.map((p) => [p.path, p.key])
    post(link.port, build.task(route.key, n, ids, carried))
    route.said = said
  }
  try {
    const result = send()
    route.seq = n
    return result
  } catch (err) {
    if (announce) {
      post(link.port, build.untag(route.key, n))
      route.said = before
    }
    if (ports !== null) for (const p of ports) routes.delete(p.end)
    throw err
  }
}

// MessagePort.prototype.postMessage while patched. Worker#postMessage ends here too.
function postMessage(value, transferList) {
  const transfer = transferList === undefined ? null : transferListOf(transferList)
  if (onTransferOut !== null && transfer !== null) onTransferOut(transfer)
  const route = routes.get(this)
  if (route === undefined || route.link.gone.has(route.key)) {
    return Reflect.apply(originalPostMessage, this, arguments)
  }
  const args = arguments
  return sendOn(route, value, transfer, () => Reflect.apply(originalPostMessage, this, args))
}
Object.defineProperty(postMessage, 'length', { value: originalPostMessage.length })
face.mask(postMessage, originalPostMessage)

// A function, not a class, so that it looks like Node's own (lib/parent/face.js): the
// same prototype object, name and length, and called without `new` it throws Node's
// ERR_CONSTRUCT_CALL_REQUIRED, by calling the original so.
function makeMessageChannel(Original) {
  const MessageChannel = function MessageChannel() {
    if (new.target === undefined) return Original()
    const channel = Reflect.construct(Original, [], new.target)
    siblings.set(channel.port1, channel.port2)
    siblings.set(channel.port2, channel.port1)
    return channel
  }
  Object.defineProperty(MessageChannel, 'prototype', { value: Original.prototype })
  Object.defineProperty(MessageChannel, 'name', { value: Original.name })
  Object.defineProperty(MessageChannel, 'length', { value: Original.length })
  // A native function has own `arguments` and `caller` (null); a strict one has none.
  for (const key of ['arguments', 'caller']) {
    const d = Object.getOwnPropertyDescriptor(Original, key)
    if (d !== undefined) Object.defineProperty(MessageChannel, key, d)
  }
  Object.setPrototypeOf(MessageChannel, Object.getPrototypeOf(Original))
  return face.mask(MessageChannel, Original)
}

module.exports = {
  sendOn,
  adopt,
  postMessage,
  makeMessageChannel,
  sendNextFor,
  setTransferOutHook,
  transferListOf,
}
