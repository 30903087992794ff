'use strict'
// Channels into profiled workers (lib/parent/channels.js) with a fake worker link and real
// MessagePorts in this thread: what is announced, when, and where carried ports are.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { MessageChannel, MessagePort, receiveMessageOnPort } = require('node:worker_threads')
const channels = require('../lib/parent/channels')
const hub = require('../lib/thread/hub')
const { MSG } = require('../lib/protocol')

const { adopt, sendOn, sendNextFor, transferListOf, makeMessageChannel, setTransferOutHook } =
  channels
const Channel = makeMessageChannel(MessageChannel)

/** What a ProfiledWorker's link offers channels.js; its APM port is read with drain(). */
function fakeLink() {
  const apm = new MessageChannel()
  const link = {
    closed: false,
    port: apm.port1,
    sessions: new Map(),
    nextKey: 1,
    gone: new Set(),
    started: [],
    startFor(sessions) {
      link.started.push(sessions.map((s) => s.id))
    },
    drain() {
      const out = []
      for (let m; (m = receiveMessageOnPort(apm.port2));) out.push(m.message)
      return out
    },
    close() {
      apm.port1.close()
      apm.port2.close()
    },
  }
  return link
}

const session = (id, state = 'active') => ({ id, state })
const route = (link, key = 0) => ({ link, key, seq: 0, said: undefined })
const sent = () => 'sent'

/** Where adopt() finds the patched channel's port1 in `value` (transferred alone). */
function pathIn(value, port) {
  const link = { nextKey: 1 }
  const found = adopt(link, value, [port])
  return found === null ? null : found[0].path
}

test('transferListOf: an array, a Set or { transfer }; anything else is no list', () => {
  const a = [1]
  assert.equal(transferListOf(a), a)
  assert.deepEqual(transferListOf(new Set([1, 2])), [1, 2])
  const t = [3]
  assert.equal(transferListOf({ transfer: t }), t)
  for (const none of [null, undefined, 5, 'x', {}, { transfer: 'x' }, { transfer: null }]) {
    assert.equal(transferListOf(none), null)
  }
})

test('makeMessageChannel keeps the name and makes real channels', () => {
  assert.equal(Channel.name, 'MessageChannel')
  const ch = new Channel()
  assert.ok(ch instanceof MessageChannel)
  ch.port1.postMessage('x')
  assert.equal(receiveMessageOnPort(ch.port2).message, 'x')
  ch.port1.close()
})

test('adopt: a transferred end of a patched channel makes the other end a route', () => {
  const ch = new Channel()
  const link = { nextKey: 3 }
  const found = adopt(link, { port: ch.port1 }, [ch.port1])
  assert.deepEqual(found, [{ path: ['port'], key: 3, end: ch.port2 }])
  assert.equal(link.nextKey, 4)
  ch.port1.close()
})

test('adopt: ports of unpatched channels, and ports not in the message, are not routes', () => {
  const plain = new MessageChannel()
  const ch = new Channel()
  const link = { nextKey: 1 }
  assert.equal(adopt(link, { p: plain.port1 }, [plain.port1]), null)
  // In the transfer list but not in the value: nothing to follow.
  assert.equal(adopt(link, { other: 1 }, [ch.port1]), null)
  assert.equal(adopt(link, null, [ch.port1]), null)
  assert.equal(link.nextKey, 1)
  const both = new Channel()
  const found = adopt(
    link,
    [plain.port1, both.port2, ch.port1],
    [plain.port1, both.port2, ch.port1],
  )
  assert.deepEqual(found, [
    { path: [1], key: 1, end: both.port1 },
    { path: [2], key: 2, end: ch.port2 },
  ])
  for (const c of [plain, ch, both]) c.port1.close()
})

test('port paths: the message itself, nested objects, arrays by index', () => {
  const ch = new Channel()
  const p = ch.port1
  assert.deepEqual(pathIn(p, p), [])
  assert.deepEqual(pathIn({ a: { b: [0, { c: p }] } }, p), ['a', 'b', 1, 'c'])
  assert.deepEqual(pathIn([[p]], p), [0, 0])
  assert.deepEqual(pathIn({ x: null, y: 'str', z: [null, 1], w: { p } }, p), ['w', 'p'])
  assert.equal(pathIn('text', p), null)
  assert.equal(pathIn(5, p), null)
  assert.equal(pathIn(undefined, p), null)
  p.close()
})

test('port paths: Maps, Sets, typed arrays, buffers and other ports are not searched', () => {
  const ch = new Channel()
  const p = ch.port1
  const other = new MessageChannel()
  const holders = [new Map(), new Set(), new Uint8Array(2), new ArrayBuffer(2), other.port1]
  for (const h of holders) {
    h.hidden = { p }
    assert.equal(pathIn({ h }, p), null, Object.prototype.toString.call(h))
  }
  // A plain object with the same property is searched.
  assert.deepEqual(pathIn({ h: { hidden: { p } } }, p), ['h', 'hidden', 'p'])
  other.port1.close()
  p.close()
})

test('port paths: down to 17 steps, not 18', () => {
  const ch = new Channel()
  const p = ch.port1
  const nest = (depth) => {
    let v = p
    for (let i = 0; i < depth; i++) v = { d: v }
    return v
  }
  assert.deepEqual(pathIn(nest(17), p), Array(17).fill('d'))
  assert.equal(pathIn(nest(18), p), null)
  p.close()
})

test('port paths: at most 10000 objects are visited', () => {
  const ch = new Channel()
  const p = ch.port1
  // The message, then its elements last to first: the port's holder comes last.
  const wide = (n) => [{ p }, ...Array.from({ length: n - 1 }, () => ({}))]
  assert.deepEqual(pathIn(wide(9999), p), [0, 'p'])
  assert.equal(pathIn(wide(10_000), p), null)
  // A port directly in the message is found without visiting its siblings.
  assert.deepEqual(pathIn([p, ...wide(10_000)], p), [0])
  p.close()
})

test('port paths: shared and cyclic objects are visited once', () => {
  const ch = new Channel()
  const p = ch.port1
  // Each level refers twice to the next: visited once each, 40 objects; as a tree, 2^40.
  let shared = {}
  for (let i = 0; i < 40; i++) shared = { a: shared, b: shared }
  const cyclic = { x: null, y: null }
  cyclic.x = cyclic
  cyclic.y = cyclic
  // Popped first, so the port's holder is reached only after them.
  assert.deepEqual(pathIn({ holder: { p }, cyclic, shared }, p), ['holder', 'p'])
  p.close()
})

test('port paths: a throwing getter is skipped', () => {
  const ch = new Channel()
  const p = ch.port1
  const value = {
    get bad() {
      throw new Error('no')
    },
    p,
  }
  assert.deepEqual(pathIn(value, p), ['p'])
  p.close()
})

test('sendOn through a closed link only sends', () => {
  const link = fakeLink()
  link.closed = true
  const r = route(link)
  sendNextFor([session(1)])
  assert.equal(
    sendOn(r, 'm', null, () => 'result'),
    'result',
  )
  assert.deepEqual(link.drain(), [])
  assert.deepEqual(link.started, [])
  assert.equal(r.seq, 0)
  link.close()
})

test('sendOn announces a change of profiles once, then stays silent', () => {
  const link = fakeLink()
  const r = route(link, 5)
  sendNextFor([session(1), session(2, 'stopping'), session(3)])
  assert.equal(sendOn(r, 'm', null, sent), 'sent')
  assert.deepEqual(link.started, [[1, 3]])
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 5, n: 1, ids: [1, 3] }])
  assert.equal(r.seq, 1)
  assert.equal(r.said, '1,3')
  // Same profiles: no announcement, the sequence number moves on.
  sendNextFor([session(1), session(3)])
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [])
  assert.equal(r.seq, 2)
  // Other profiles: announced at this message's number.
  sendNextFor([session(3)])
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 5, n: 3, ids: [3] }])
  // None at all, after some: announced too (the worker must stop counting for 3).
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 5, n: 4, ids: [] }])
  assert.equal(r.said, '')
  link.close()
})

test('sendOn says nothing while no profile is involved', () => {
  const link = fakeLink()
  const r = route(link)
  sendOn(r, 'm', null, sent)
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [])
  assert.equal(r.seq, 2)
  assert.equal(r.said, undefined)
  assert.deepEqual(link.started, [[], []])
  // …unless the worker is profiling: then "none" is news.
  link.sessions.set(9, session(9))
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 0, n: 3, ids: [] }])
  link.close()
})

test('sendOn takes the profiles of the sending context when none is pending', () => {
  const link = fakeLink()
  const r = route(link)
  hub.context.run([session(4), session(5, 'done')], () => sendOn(r, 'm', null, sent))
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 0, n: 1, ids: [4] }])
  link.close()
})

test('sendNextFor holds for the next send in this turn only', async () => {
  const link = fakeLink()
  const r = route(link)
  sendNextFor([session(1)])
  sendOn(r, 'm', null, sent)
  // Taken by that send: the next one is from the context (none).
  sendOn(r, 'm', null, sent)
  assert.deepEqual(
    link.drain().map((m) => m.ids),
    [[1], []],
  )
  sendNextFor([session(2)])
  await null
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [])
  // A newer sendNextFor in the same turn is not cleared by the older one's microtask.
  sendNextFor([session(6)])
  await null
  sendNextFor([session(7)])
  sendNextFor([session(8)])
  await null
  sendOn(r, 'm', null, sent)
  assert.deepEqual(link.drain(), [])
  // The older one's microtask runs before this send: it must not clear the newer one.
  sendNextFor([session(10)])
  const done = new Promise((resolve) =>
    queueMicrotask(() => {
      sendOn(r, 'm', null, sent)
      resolve()
    }),
  )
  sendNextFor([session(11)])
  await done
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 0, n: 5, ids: [11] }])
  link.close()
})

test('sendOn announces carried ports with their paths and new keys, even with no profile', () => {
  const link = fakeLink()
  link.nextKey = 7
  const r = route(link, 2)
  const ch = new Channel()
  const value = { reply: ch.port1 }
  sendOn(r, value, [ch.port1], sent)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 2, n: 1, ids: [], ports: [[['reply'], 7]] }])
  assert.equal(r.said, '')
  // Carried ports are announced every time.
  const ch2 = new Channel()
  sendOn(r, [ch2.port2], [ch2.port2], sent)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: 2, n: 2, ids: [], ports: [[[0], 8]] }])
  // A transfer list with no port of ours is no reason to speak.
  sendOn(r, { b: new ArrayBuffer(1) }, [new ArrayBuffer(1)], sent)
  assert.deepEqual(link.drain(), [])
  for (const c of [ch, ch2]) c.port1.close()
  link.close()
})

test('sendOn whose send throws withdraws its announcement and its routes', () => {
  const link = fakeLink()
  const r = route(link, 1)
  sendNextFor([session(1)])
  sendOn(r, 'm', null, sent)
  link.drain()
  const ch = new Channel()
  sendNextFor([session(2)])
  const boom = new Error('DataCloneError')
  assert.throws(
    () =>
      sendOn(r, { p: ch.port1 }, [ch.port1], () => {
        throw boom
      }),
    (err) => err === boom,
  )
  const [task, untag] = link.drain()
  assert.deepEqual(task.ids, [2])
  assert.deepEqual(untag, { t: MSG.UNTAG, k: 1, n: 2 })
  assert.equal(r.seq, 1)
  assert.equal(r.said, '1')
  // The other end did not become a route: sending on it is a plain send, even while the
  // worker is profiling (a route would announce "no profile" then).
  link.sessions.set(9, session(9))
  const received = new MessageChannel()
  channels.postMessage.call(ch.port2, 'plain')
  assert.equal(receiveMessageOnPort(ch.port1).message, 'plain')
  assert.deepEqual(link.drain(), [])
  // Nothing announced (same profiles), nothing to withdraw.
  sendNextFor([session(1)])
  assert.throws(
    () =>
      sendOn(r, 'm', null, () => {
        throw boom
      }),
    (err) => err === boom,
  )
  assert.deepEqual(link.drain(), [])
  assert.equal(r.said, '1')
  received.port1.close()
  ch.port1.close()
  link.close()
})

test('postMessage on a route announces, then sends the user’s message unchanged', () => {
  const link = fakeLink()
  const ch = new Channel()
  const [{ key, end }] = adopt(link, { p: ch.port1 }, [ch.port1])
  assert.equal(end, ch.port2)
  sendNextFor([session(3)])
  const msg = { hello: [1, 2] }
  channels.postMessage.call(ch.port2, msg)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: key, n: 1, ids: [3] }])
  assert.deepEqual(receiveMessageOnPort(ch.port1).message, msg)
  // With a transfer list, as an array or as options.
  const inner = new MessageChannel()
  channels.postMessage.call(ch.port2, { q: inner.port1 }, { transfer: [inner.port1] })
  assert.ok(receiveMessageOnPort(ch.port1).message.q instanceof MessagePort)
  assert.deepEqual(link.drain(), [{ t: MSG.TASK, k: key, n: 2, ids: [] }])
  // Once the worker says the port is gone, sends on the route are plain.
  link.gone.add(key)
  sendNextFor([session(4)])
  channels.postMessage.call(ch.port2, 'after')
  assert.deepEqual(link.drain(), [])
  assert.equal(receiveMessageOnPort(ch.port1).message, 'after')
  assert.equal(channels.postMessage.length, MessagePort.prototype.postMessage.length)
  inner.port2.close()
  ch.port1.close()
  link.close()
})

test('postMessage tells the transfer-out hook which ports leave', () => {
  const seen = []
  setTransferOutHook((transfer) => seen.push(transfer))
  try {
    const ch = new MessageChannel()
    const inner = new MessageChannel()
    channels.postMessage.call(ch.port1, 'no list')
    channels.postMessage.call(ch.port1, { p: inner.port1 }, [inner.port1])
    assert.deepEqual(seen, [[inner.port1]])
    assert.equal(receiveMessageOnPort(ch.port2).message, 'no list')
    assert.ok(receiveMessageOnPort(ch.port2).message.p instanceof MessagePort)
    ch.port1.close()
    inner.port2.close()
  } finally {
    setTransferOutHook(null)
  }
  const ch = new MessageChannel()
  channels.postMessage.call(ch.port1, 'x', [])
  assert.equal(receiveMessageOnPort(ch.port2).message, 'x')
  ch.port1.close()
})
