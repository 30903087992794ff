'use strict'
// The private channel's builders and validators (lib/protocol.js): what each side sends
// passes the other side's check, and a message with any one field wrong is refused.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const { MSG, DEFAULTS, LIMITS, build, check, isIntervalUs } = require('../lib/protocol')

const session = {
  id: 3,
  asyncId: 7,
  startNs: 12n,
  name: 'p',
  intervalUs: 1000,
  stopTimeoutMs: DEFAULTS.stopTimeoutMs,
}

// [builder output, validator, field → bad values]
const cases = [
  [
    build.start(session, true),
    check.start,
    {
      id: [0, -1, 1.5, '3'],
      intervalUs: [0, 1e6 + 1, 2.5],
      startNs: [12],
      name: [1],
      owner: ['yes'],
      asyncId: ['7'],
      stopTimeoutMs: [0, 1e9],
    },
  ],
  [build.stop(3), check.stop, { id: [0, null, '3'] }],
  [
    build.task(0, 1, [3], [[['a', 0], 1]]),
    check.task,
    { k: [-1, 'x'], n: [0], ids: [[0], 'x', null], ports: [[['a', 1]], [[[{}], 1]], 'x'] },
  ],
  [build.untag(2, 5), check.untag, { k: [-1], n: [0] }],
  [build.portGone(2), check.portGone, { k: [0, 'x'] }],
  [
    build.chunk(5, 'w', [3], '{}', { 3: [1, 2] }),
    check.chunk,
    {
      threadId: [0],
      json: [{}, 'x'.repeat(LIMITS.chunkJson + 1)],
      ids: [null, [-1], [3, 3]],
      threadName: [1, 'x'.repeat(LIMITS.text + 1)],
      spans: [
        [1, 2],
        { 3: [1] },
        { 3: [1, NaN] },
        null,
        { x: [1, 2] },
        JSON.parse('{"__proto__": [1, 2]}'),
        { 0: [1, 2] },
        Object.create({ 3: [1, 2] }, { 4: { value: [1, 2], enumerable: true } }),
      ],
    },
  ],
  [
    build.effects(3, 5, 'w', '{}'),
    check.effects,
    { id: [0], threadId: [-2], threadName: [null], effects: [{}] },
  ],
  [
    build.error(5, 'w', [3], new Error('boom')),
    check.error,
    { ids: [[0]], error: [null, { message: 1 }, { message: 'x', stack: 1 }] },
  ],
  [build.exit(5, 'w', [3], 1), check.exit, { code: ['1', 1.5], threadId: [0] }],
  [build.stopped(3, [5]), check.stopped, { id: [0], timedOut: [[0], undefined, 'x'] }],
  [build.stoppedAll([]), check.stoppedAll, { timedOut: [null, [1.5], 5, { length: 1 }] }],
  [build.child(7, 5), check.child, { threadId: [0, -1, 1.5, '7'], parentId: [0, null] }],
]

test('every builder’s message passes its own validator and the side that reads it', () => {
  for (const [msg, validate] of cases) {
    assert.equal(validate(msg), msg, msg.t)
    const toChild = [MSG.START, MSG.STOP, MSG.STOP_ALL, MSG.TASK, MSG.UNTAG].includes(msg.t)
    assert.equal((toChild ? check.toChild : check.fromChild)(msg), msg, msg.t)
    assert.equal((toChild ? check.fromChild : check.toChild)(msg), null, `${msg.t} the wrong way`)
  }
  assert.deepEqual(check.stopAll(build.stopAll()), { t: MSG.STOP_ALL })
})

test('a message with one field wrong or missing is refused', () => {
  for (const [msg, validate, bad] of cases) {
    for (const [field, values] of Object.entries(bad)) {
      for (const v of values) {
        const forged = { ...msg, [field]: v }
        if (v === undefined) delete forged[field]
        assert.equal(validate(forged), null, `${msg.t}.${field} = ${String(v)}`)
      }
    }
  }
})

test('anything that is not a known message is refused, never thrown on', () => {
  for (const m of [
    null,
    undefined,
    1,
    'stop',
    [],
    {},
    { t: 'nope' },
    { t: 'toString' },
    { t: '__proto__' },
  ])
    for (const validate of [check.toChild, check.fromChild]) assert.equal(validate(m), null)
  const huge = build.chunk(5, 'w', Array(70_000).fill(1), '{}')
  assert.equal(check.chunk(huge), null)
})

const effectsValue = {
  cpuTimeNs: 1n,
  wallTimeNs: 2n,
  eventLoopUtilization: { idle: 1, active: 2, utilization: 0.5 },
  custom: [{ name: 'n', data: '1', atNs: 3n }],
  exitCode: 0,
  dropped: { malformed: 2 },
  failures: { sampler: 1 },
}

test('the parsed effects text is checked field by field', () => {
  assert.equal(check.effectsValue(effectsValue), effectsValue)
  const bad = {
    cpuTimeNs: [1, -1n, undefined],
    wallTimeNs: ['2'],
    eventLoopUtilization: [null, { idle: 1, active: 2, utilization: 2 }],
    custom: ['x', { length: 0 }, [{ name: 'n', data: 1 }], [{ name: 1, data: '1' }], undefined],
    exitCode: [1.5, '0', null],
    dropped: [{ made_up: 1 }, { malformed: -1 }, { malformed: 0.5 }, []],
    failures: [{ runtime: NaN }, JSON.parse('{"__proto__": 1}')],
  }
  for (const [field, values] of Object.entries(bad))
    for (const v of values) {
      const forged = { ...effectsValue, [field]: v }
      if (v === undefined) delete forged[field]
      assert.equal(check.effectsValue(forged), null, `${field} = ${String(v)}`)
    }
  for (const v of [null, [], 'x', 5]) assert.equal(check.effectsValue(v), null)
})

test('the start message gives a nested worker less time than its parent has', () => {
  const m = build.start({ ...session, stopTimeoutMs: 1000 }, false)
  assert.equal(m.stopTimeoutMs, 800)
  assert.equal(m.owner, false)
})

test('the sampling interval rule: an integer from 1 to 1000000 µs', () => {
  for (const v of [1, 1000, 1_000_000]) assert.ok(isIntervalUs(v), String(v))
  for (const v of [0, -1, 1.5, 1_000_001, '1000', NaN, Infinity])
    assert.ok(!isIntervalUs(v), String(v))
})

test('an error that is not an Error becomes its message', () => {
  assert.deepEqual(build.error(5, 'w', [3], 'x').error, { message: 'x' })
  const e = Object.assign(new Error('m'), { code: 'E_X' })
  assert.equal(build.error(5, 'w', [3], e).error.code, 'E_X')
})

test('any error a worker raises builds a message that passes the check further up', () => {
  const weird = [
    Object.assign(new Error('x'.repeat(LIMITS.text * 2)), { code: { nested: true } }),
    Object.assign(new Error('m'), { code: 12 }),
    Object.assign(new Error('m'), { code: 1.5, name: { toString: () => 'N' } }),
    {
      toString() {
        throw new Error('no')
      },
    },
  ]
  for (const e of weird) assert.ok(check.error(build.error(5, 'w', [3], e)), String(e?.code))
})

test('a worker or profile name of any length builds messages that pass their checks', () => {
  const name = 'n'.repeat(LIMITS.text + 10)
  assert.ok(check.start(build.start({ ...session, name }, true)))
  assert.ok(check.chunk(build.chunk(5, name, [3], '{}')))
  assert.ok(check.effects(build.effects(3, 5, name, '{}')))
  assert.ok(check.exit(build.exit(5, name, [3], 0)))
  assert.ok(check.error(build.error(5, name, [3], new Error('x'))))
})

test('each validator refuses every other kind of message, and null, without throwing', () => {
  const validators = Object.entries(check).filter(
    ([name]) => !['toChild', 'fromChild', 'envelope'].includes(name),
  )
  const messages = [...cases.map(([msg]) => msg), build.stopAll()]
  for (const [name, validate] of validators) {
    // check.stopAll reads 'stop-all', check.portGone 'port-gone', ...
    const kind = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
    for (const msg of messages)
      assert.equal(validate(msg), msg.t === kind ? msg : null, `check.${name}(${msg.t})`)
    for (const m of [null, undefined, 0, 'x']) assert.equal(validate(m), null, `${name}(${m})`)
  }
  // A message with every field of its kind but another kind's `t` is that other kind.
  for (const [msg, validate] of cases)
    for (const t of [...Object.values(MSG), 'nope'])
      if (t !== msg.t) assert.equal(validate({ ...msg, t }), null, `${msg.t} relabelled ${t}`)
})

test('optional fields may be absent, and builders leave them out when not given', () => {
  const task = build.task(0, 1, [3])
  assert.deepEqual(task, { t: MSG.TASK, k: 0, n: 1, ids: [3] })
  assert.equal(check.task(task), task)
  const ports = [[['a', 0], 1]]
  assert.equal(build.task(0, 1, [3], ports).ports, ports)

  const chunk = build.chunk(5, 'w', [3], '{}')
  assert.deepEqual(chunk, { t: MSG.CHUNK, threadId: 5, threadName: 'w', ids: [3], json: '{}' })
  assert.equal(check.chunk(chunk), chunk)
  const spans = { 3: [1, 2] }
  assert.equal(build.chunk(5, 'w', [3], '{}', spans).spans, spans)

  const start = build.start(session, true)
  const bare = { ...start }
  delete bare.owner
  delete bare.stopTimeoutMs
  assert.equal(check.start(bare), bare)

  const err = build.error(5, 'w', [3], 'x')
  assert.equal(check.error(err), err)
})

test('an Error keeps its name, message and stack, and gets a code only when it has one', () => {
  const e = new TypeError('m')
  assert.deepEqual(build.error(5, 'w', [3], e).error, {
    name: 'TypeError',
    message: 'm',
    stack: e.stack,
  })
  const noStack = new Error('n')
  noStack.stack = undefined
  assert.deepEqual(build.error(5, 'w', [3], noStack).error, { name: 'Error', message: 'n' })
  const coded = Object.assign(new Error('c'), { code: 0 })
  assert.equal(build.error(5, 'w', [3], coded).error.code, 0)
})

test('bounds are inclusive: the largest allowed value passes, one more is refused', () => {
  const { LIMITS, STOP_TIMEOUT_MAX_MS, isStopTimeoutMs } = require('../lib/protocol')
  assert.ok(isStopTimeoutMs(STOP_TIMEOUT_MAX_MS))
  assert.ok(!isStopTimeoutMs(STOP_TIMEOUT_MAX_MS + 1))
  assert.ok(!isStopTimeoutMs('5'))
  assert.ok(isStopTimeoutMs(0.5))

  const ids = (n) => Array.from({ length: n }, (_, i) => i + 1)
  assert.ok(check.stop(build.stop(1)))
  const full = build.task(0, 1, ids(LIMITS.ids))
  assert.equal(check.task(full), full)
  assert.equal(check.task(build.task(0, 1, ids(LIMITS.ids + 1))), null)

  const deep = Array(LIMITS.pathDepth).fill('a')
  assert.ok(check.task(build.task(0, 1, [3], [[deep, 1]])))
  assert.equal(check.task(build.task(0, 1, [3], [[[...deep, 'a'], 1]])), null)

  const many = Array.from({ length: LIMITS.ports }, (_, i) => [['a'], i + 1])
  assert.ok(check.task(build.task(0, 1, [3], many)))
  assert.equal(check.task(build.task(0, 1, [3], [...many, [['a'], 1]])), null)
})

test('a list is refused when any one entry is bad, not only when all are', () => {
  const good = [['a', 0], 1]
  for (const bad of [[['a', {}], 1], [['a'], 1, 2], { length: 2, 0: ['a'], 1: 1 }, [['a'], 0]])
    assert.equal(check.task(build.task(0, 1, [3], [good, bad])), null, JSON.stringify(bad))
  for (const spans of [{ 3: [1, 2], 4: [1] }, { 3: ['1', '2'] }, { 3: [1, Infinity] }])
    assert.equal(check.chunk(build.chunk(5, 'w', [3], '{}', spans)), null, JSON.stringify(spans))
  const err = build.error(5, 'w', [3], new Error('x'))
  for (const forged of [
    { ...err, threadId: 0 },
    { ...err, threadName: 1 },
  ])
    assert.equal(check.error(forged), null)
})

test('the envelope is checked field by field', () => {
  const { port1 } = new (require('node:worker_threads').MessageChannel)()
  const env = { port: port1, execArgv: ['--x'], threadName: 'w', start: [], ports: [] }
  assert.equal(check.envelope(env), env)
  for (const [field, values] of Object.entries({
    port: [null, 1],
    execArgv: [null, ['--x', 1], [1, '--x']],
    threadName: [1],
    start: [null, {}],
    ports: [null, [[['a'], 0]]],
  }))
    for (const v of values)
      assert.equal(check.envelope({ ...env, [field]: v }), null, `${field} = ${String(v)}`)
  for (const v of [null, undefined, 'x']) assert.equal(check.envelope(v), null)
  port1.close()
})

test('the documented defaults, the main thread’s name, and the hooks into Node', () => {
  const protocol = require('../lib/protocol')
  assert.deepEqual(
    { ...DEFAULTS },
    { samplingIntervalUs: 1000, mainThread: true, stopTimeoutMs: 2000 },
  )
  assert.equal(protocol.MAIN_THREAD_NAME, 'main')
  assert.ok(require('node:fs').statSync(protocol.RUNTIME_PATH).isFile())
  assert.equal(protocol.RUNTIME_PATH, require.resolve('../lib/worker/index.js'))
  // Node's ports dispatch through this registered symbol: if Node renamed it, the
  // runtime could no longer act before user listeners.
  const { port1 } = new (require('node:worker_threads').MessageChannel)()
  assert.equal(typeof port1[protocol.HYBRID_DISPATCH], 'function')
  port1.close()
})
