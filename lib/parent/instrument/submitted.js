'use strict'
// Which profiles submitted a send that a pool makes later, from a context that is not
// theirs (a queued task, sent from the callback of another task finishing).
//
// A pool integration tags an object that will travel with the send — a transfer list
// made for the task, or the message itself — or runs the pool's own send step inside
// sendAllFor(). channels.sendOn asks submitterOf() before it falls back to the sending
// context. A tag is used once: each task's send has its own.

const tags = new WeakMap() // transfer list or message → sessions
let scoped = null

/** The send that carries `object` (as its message or its transfer list) is `sessions`'. */
function tag(object, sessions) {
  tags.set(object, sessions)
}

/** Run `fn` (a pool's send step); every send it makes counts for `sessions`. */
function sendAllFor(sessions, fn, thisArg, args) {
  const before = scoped
  scoped = sessions
  try {
    return Reflect.apply(fn, thisArg, args)
  } finally {
    scoped = before
  }
}

/** The sessions a pool recorded for this send, or null: the sending context decides. */
function submitterOf(value, transfer) {
  if (scoped !== null) return scoped
  let s
  if (transfer !== null && (s = tags.get(transfer)) !== undefined) {
    tags.delete(transfer)
    return s
  }
  if (value !== null && typeof value === 'object' && (s = tags.get(value)) !== undefined) {
    tags.delete(value)
    return s
  }
  return null
}

module.exports = { tag, sendAllFor, submitterOf }
