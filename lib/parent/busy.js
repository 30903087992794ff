'use strict'
// Reaching a worker whose JavaScript is busy (a long synchronous loop) and so cannot read
// its port. The inspector's NodeWorker domain delivers protocol messages to a worker
// through V8 interrupts, which run in the middle of synchronous code; a Runtime.evaluate
// sent that way calls the runtime's interrupt entry point (lib/worker/runtime.js), which
// stops the worker's sampler and posts its data on the port right away.
//
// The domain is enabled only while such a request is in flight: enabling it attaches an
// inspector session to every worker of this thread, which idle workers should not pay.

const { INTERRUPT } = require('../protocol')
// NODE_DEBUG=profiled-worker shows each failure the profiler swallows.
const debug = require('node:util').debuglog('profiled-worker')

let bridge = null // the open NodeWorker session and its bookkeeping, while in use
let nextId = 1

/**
 * One NodeWorker session. Its maps are its own: a closing bridge still receives
 * detach events, and NodeWorker session ids restart at "1" in every session.
 */
function openBridge() {
  const { Session } = require('node:inspector')
  const b = {
    session: new Session(),
    users: 0,
    targets: new Map(), // threadId → NodeWorker sessionId
    attachWaits: new Map(), // threadId → [resolve]
    replies: new Map(), // evaluate id → resolve
  }
  b.post = (method, params) =>
    new Promise((resolve, reject) =>
      b.session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    )
  b.session.connect()
  b.session.on('NodeWorker.attachedToWorker', ({ params }) => {
    // workerId is the inspector's own numbering; the title starts with the thread id:
    // "[worker 7]" or "[worker 7] name".
    const m = /^\[worker (\d+)\]/.exec(params.workerInfo.title)
    if (!m) return
    const threadId = Number(m[1])
    b.targets.set(threadId, params.sessionId)
    for (const resolve of b.attachWaits.get(threadId) ?? []) resolve(params.sessionId)
    b.attachWaits.delete(threadId)
  })
  b.session.on('NodeWorker.detachedFromWorker', ({ params }) => {
    for (const [threadId, id] of b.targets) if (id === params.sessionId) b.targets.delete(threadId)
  })
  b.session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
    let msg
    try {
      msg = JSON.parse(params.message)
    } catch {
      return
    }
    b.replies.get(msg.id)?.(msg)
  })
  b.ready = b.post('NodeWorker.enable', { waitForDebuggerOnStart: false })
  return b
}

function closeBridge(b) {
  if (bridge === b) bridge = null
  b.session.post('NodeWorker.disable', () => b.session.disconnect())
}

function within(promise, ms) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve) => (timer = setTimeout(resolve, ms, null))),
  ]).finally(() => clearTimeout(timer))
}

/**
 * Run the interrupt entry point in worker `threadId` with `message` (a STOP or STOP_ALL).
 * Resolves true once the worker ran it, false if it could not be reached within `timeoutMs`.
 * Never rejects.
 */
async function interrupt(threadId, message, timeoutMs) {
  const b = (bridge ??= openBridge())
  b.users++
  try {
    await b.ready
    const sessionId =
      b.targets.get(threadId) ??
      (await within(
        new Promise((resolve) =>
          b.attachWaits.set(threadId, [...(b.attachWaits.get(threadId) ?? []), resolve]),
        ),
        timeoutMs,
      ))
    if (!sessionId) return false
    const id = nextId++
    const expression = `globalThis[Symbol.for(${JSON.stringify(INTERRUPT.description)})](${JSON.stringify(JSON.stringify(message))})`
    const answered = new Promise((resolve) => b.replies.set(id, resolve))
    await b.post('NodeWorker.sendMessageToWorker', {
      sessionId,
      message: JSON.stringify({
        id,
        method: 'Runtime.evaluate',
        params: { expression, returnByValue: true },
      }),
    })
    const reply = await within(answered, timeoutMs)
    b.replies.delete(id)
    return reply?.result?.result?.value === 'done'
  } catch (err) {
    debug('busy worker %d could not be interrupted: %s', threadId, err)
    return false
  } finally {
    b.attachWaits.delete(threadId)
    if (--b.users === 0) closeBridge(b)
  }
}

module.exports = { interrupt }
