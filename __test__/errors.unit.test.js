'use strict'
// The error messages users see (lib/util/errors.js): each builder's class, code and exact
// text, and that the text names the problem: where it happened and what was wrong.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const errors = require('../lib/util/errors')

// builder → [arguments, class, code, text]. Every string argument is something the user
// must find in the text.
const CASES = {
  invalidArgType: [
    ['run(fn): fn', 'a function', 3],
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    'run(fn): fn must be a function, got the number 3',
  ],
  outOfRange: [
    ['f(): options.x', 'a number from 0 to 100', 101],
    RangeError,
    'ERR_OUT_OF_RANGE',
    'f(): options.x must be a number from 0 to 100, got the number 101',
  ],
  unknownOption: [
    ['f()', 'colour', ['title', 'idle']],
    TypeError,
    'ERR_INVALID_ARG_VALUE',
    'f(): unknown option "colour" (known: title, idle)',
  ],
  mustBe: [
    ['mergeProfiles(threads): threads', 'an array', 'x'],
    TypeError,
    undefined,
    'mergeProfiles(threads): threads must be an array, got the string "x"',
  ],
  notThreadId: [
    ['mergeProfiles: threads[0].threadId', 1.5],
    TypeError,
    undefined,
    'mergeProfiles: threads[0].threadId must be a non-negative integer, got 1.5',
  ],
  unknownMergeOption: [
    ['profileID'],
    TypeError,
    undefined,
    'mergeProfiles: unknown option "profileID"',
  ],
  notMicros: [
    ['monotonicToEpochNanos', null],
    TypeError,
    undefined,
    'monotonicToEpochNanos: expected a finite number of µs, got null',
  ],
  notJsonObject: [
    ["serialize(value, { format: 'json' })"],
    TypeError,
    undefined,
    "serialize(value, { format: 'json' }): value must be an object",
  ],
  bigIntCollision: [
    [],
    Error,
    undefined,
    'serialize: could not place every BigInt (a string collided with the marker)',
  ],
  jsonSyntax: [
    [{ message: 'Unexpected end of input', position: 7, line: 2, column: 3 }],
    SyntaxError,
    undefined,
    'Unexpected end of input in JSON at position 7 (line 2 column 3)',
  ],
  notHttpUrl: [
    ['startContinuous(): otlp.url', 'ftp://x'],
    TypeError,
    undefined,
    'startContinuous(): otlp.url must be an http(s) URL, got ftp://x',
  ],
  badLabel: [
    ['startContinuous()', 'a b', 'c'],
    TypeError,
    undefined,
    'startContinuous(): pyroscope tag a b=c is not a valid label',
  ],
  noAnswer: [[5000], Error, undefined, 'no answer within 5000 ms'],
  mainThreadOnly: [
    ['startProfile()'],
    Error,
    'ERR_PROFILE_THREAD',
    'startProfile() can only be called on the main thread',
  ],
  continuousRunning: [
    [],
    Error,
    'ERR_PROFILE_ACTIVE',
    'startContinuous(): continuous profiling is already running',
  ],
  notBuilt: [
    ['/pkg', 'profiled-worker-linux-x64-gnu', new Error('dlopen failed')],
    Error,
    'ERR_PROFILED_WORKER_NOT_BUILT',
    'profiled-worker: the native addon is not built for ' +
      `${process.platform}-${process.arch} (looked in /pkg and for the package ` +
      'profiled-worker-linux-x64-gnu). npm installs profiled-worker-linux-x64-gnu as an ' +
      'optional dependency where it is published: reinstall without --omit=optional (or ' +
      '--no-optional). From a clone: Build it with `npm run build` in /pkg (needs Rust and Cargo).',
  ],
  alreadyProfiling: [
    [7],
    Error,
    'ERR_PROFILE_ACTIVE',
    'a profile is already active for this async context (async id 7); ' +
      'stop it first, or use runProfile() to give the work its own context',
  ],
}

test('every exported message builder is pinned here', () => {
  const builders = Object.keys(errors).filter((k) => k !== 'describe')
  assert.deepEqual(builders.sort(), Object.keys(CASES).sort())
})

for (const [name, [args, Class, code, text]] of Object.entries(CASES)) {
  test(`${name}() names the problem`, () => {
    const err = errors[name](...args)
    assert.ok(err instanceof Class, `a ${Class.name}`)
    assert.equal(err.constructor, Class)
    assert.equal(err.code, code)
    assert.equal(err.message, text)
    for (const a of args.filter((a) => typeof a === 'string'))
      assert.ok(err.message.includes(a), `the text names ${a}`)
  })
}

test('jsonSyntax keeps where the text broke; notBuilt keeps its cause', () => {
  const at = { message: 'x', position: 7, line: 2, column: 3 }
  const { position, line, column } = errors.jsonSyntax(at)
  assert.deepEqual({ position, line, column }, { position: 7, line: 2, column: 3 })
  const cause = new Error('dlopen failed')
  assert.equal(errors.notBuilt('/pkg', 'p', cause).cause, cause)
})

test('describe says what was given without printing it whole', () => {
  assert.equal(errors.describe(null), 'null')
  assert.equal(errors.describe([1]), 'an array')
  assert.equal(errors.describe(2), 'the number 2')
  assert.equal(errors.describe('s'), 'the string "s"')
  assert.equal(
    errors.describe(() => {}),
    'a function',
  )
})
