'use strict'
// The CLI's command line (lib/cli/args.js), parsed in-process: no child process.
const test = require('node:test')
const assert = require('node:assert/strict')
require('./no-unhandled')
const path = require('node:path')
const { parseCommandLine, parseDuration, UsageError, USAGE } = require('../lib/cli/args')

const CWD = path.resolve('/some/where')
const parse = (...argv) => parseCommandLine(argv, CWD)

/** The UsageError message that `argv` is rejected with. */
function rejection(...argv) {
  try {
    parse(...argv)
  } catch (err) {
    assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${err}`)
    assert.ok(err instanceof Error)
    return err.message
  }
  assert.fail(`${argv.join(' ')} was accepted`)
}

test('defaults: one run, ./profiles, main thread, 1000 µs', () => {
  assert.deepEqual(parse('--', 'node', 'app.js', '--flag'), {
    command: ['node', 'app.js', '--flag'],
    out: path.join(CWD, 'profiles'),
    mode: 'run',
    everyMs: null,
    every: null,
    mainThread: true,
    firstOnly: false,
    intervalUs: 1000,
    pyroscope: null,
    otlp: null,
    writeFiles: true,
  })
})

test('the working directory defaults to process.cwd()', () => {
  assert.equal(parseCommandLine(['--', 'node']).out, path.resolve('profiles'))
})

test('every option is read', () => {
  assert.deepEqual(
    parse(
      '-o',
      'out/dir',
      '--every',
      '1.5s',
      '--no-main-thread',
      '--interval',
      '250',
      '--first-only',
      '--',
      'x',
    ),
    {
      command: ['x'],
      out: path.join(CWD, 'out/dir'),
      mode: 'every',
      everyMs: 1500,
      every: '1.5s',
      mainThread: false,
      firstOnly: true,
      intervalUs: 250,
      pyroscope: null,
      otlp: null,
      writeFiles: true,
    },
  )
  assert.equal(parse('--out', '/abs', '--', 'x').out, path.resolve('/abs'))
  const signal = parse('--signal', '--', 'x')
  assert.equal(signal.mode, 'signal')
  assert.equal(signal.everyMs, null)
  assert.equal(signal.every, null)
})

test('--pyroscope and --otlp push continuously: 60s windows at 100 Hz, files only with --out', () => {
  const push = parse('--pyroscope', 'http://127.0.0.1:4040', '--otlp', 'https://c:4318', '--', 'x')
  assert.equal(push.mode, 'continuous')
  assert.equal(push.everyMs, 60_000)
  assert.equal(push.intervalUs, 10_000)
  assert.equal(push.pyroscope, 'http://127.0.0.1:4040')
  assert.equal(push.otlp, 'https://c:4318')
  assert.equal(push.writeFiles, false)
  const both = parse(
    '--otlp',
    'http://c',
    '--every',
    '5s',
    '--out',
    'd',
    '--interval',
    '500',
    '--',
    'x',
  )
  assert.deepEqual(
    [both.mode, both.everyMs, both.intervalUs, both.writeFiles, both.out],
    ['continuous', 5000, 500, true, path.join(CWD, 'd')],
  )
  assert.match(rejection('--pyroscope', 'localhost:4040', '--', 'x'), /--pyroscope needs an http/)
  assert.match(rejection('--otlp', 'http://c', '--signal', '--', 'x'), /--signal cannot/)
  assert.match(USAGE, /--pyroscope <url>/)
  assert.match(USAGE, /--otlp <url>/)
})

test('arguments after -- are the command, even ones that look like our options', () => {
  assert.deepEqual(parse('--', 'node', '--out', 'x', '--', '-h').command, [
    'node',
    '--out',
    'x',
    '--',
    '-h',
  ])
})

test('--help and --version win over everything else but a bad option', () => {
  assert.deepEqual(parse('-h'), { help: true })
  assert.deepEqual(parse('--help', '--every', '1ms'), { help: true })
  assert.deepEqual(parse('--version'), { version: true })
  assert.deepEqual(parse('--version', '--signal', '--every', '1s'), { version: true })
  assert.deepEqual(parse('--help', '--version'), { help: true })
  assert.match(USAGE, /^Usage: profiled-worker \[options\] -- <command>/)
})

test('durations: ms, s and m, decimals, rounded to whole ms', () => {
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('100ms'), 100)
  assert.equal(parseDuration('30s'), 30_000)
  assert.equal(parseDuration('2m'), 120_000)
  assert.equal(parseDuration('0.1s'), 100)
  assert.equal(parseDuration('100.4ms'), 100)
  assert.equal(parseDuration('100.5ms'), 101)
  assert.equal(parseDuration('1.25m'), 75_000)
})

test('durations without a unit, with another unit or with junk are refused', () => {
  for (const bad of [
    '500',
    'ms',
    '1h',
    '1 s',
    ' 1s',
    '1s ',
    '-1s',
    '1.s',
    '.5s',
    '1e3ms',
    '1sm',
    'x1s',
  ]) {
    assert.throws(
      () => parseDuration(bad),
      (err) => {
        assert.ok(err instanceof UsageError, bad)
        assert.equal(
          err.message,
          `--every needs a duration with a unit (500ms, 30s, 2m), got ${JSON.stringify(bad)}`,
        )
        return true
      },
    )
  }
})

test('windows under 100 ms are refused', () => {
  assert.equal(
    rejection('--every', '99ms', '--', 'x'),
    '--every 99ms is shorter than 100ms; each window stops a profile and writes files',
  )
  assert.match(rejection('--every', '0.09s', '--', 'x'), /^--every 0\.09s is shorter than 100ms/)
  assert.match(rejection('--every', '99.9ms', '--', 'x'), /is shorter than 100ms/)
})

test('intervals: whole microseconds from 1 to 1000000', () => {
  assert.equal(parse('--interval', '1', '--', 'x').intervalUs, 1)
  assert.equal(parse('--interval', '1000000', '--', 'x').intervalUs, 1_000_000)
  assert.equal(parse('--interval', '007', '--', 'x').intervalUs, 7)
  for (const bad of ['0', '1000001', '1.5', '1e3', '', ' 5', '5 ', 'abc', '0x10']) {
    assert.equal(
      rejection('--interval', bad, '--', 'x'),
      `--interval must be a whole number of microseconds from 1 to 1000000, got ${JSON.stringify(bad)}`,
    )
  }
})

test('--every and --signal together are refused', () => {
  assert.equal(
    rejection('--every', '1s', '--signal', '--', 'x'),
    '--every and --signal cannot be combined: choose one way to cut windows',
  )
})

test('an empty --out is refused', () => {
  assert.equal(rejection('--out', '', '--', 'x'), '--out needs a directory')
  assert.equal(rejection('-o', '', '--', 'x'), '--out needs a directory')
})

test('a missing command is refused, with or without --', () => {
  assert.equal(
    rejection(),
    'missing -- and the command to run, as in profiled-worker -- node app.js',
  )
  assert.equal(
    rejection('--signal'),
    'missing -- and the command to run, as in profiled-worker -- node app.js',
  )
  assert.equal(
    rejection('--'),
    'missing the command after --, as in profiled-worker -- node app.js',
  )
  assert.equal(
    rejection('--signal', '--'),
    'missing the command after --, as in profiled-worker -- node app.js',
  )
})

test('parseArgs errors are put in the command line’s words', () => {
  assert.equal(rejection('--nope', '--', 'x'), 'unknown option --nope')
  assert.equal(rejection('-z', '--', 'x'), 'unknown option -z')
  assert.equal(
    rejection('--signal', 'node', 'app.js'),
    'unexpected argument "node": put the command after --, as in profiled-worker -- node app.js',
  )
  assert.equal(rejection('--out'), '--out needs a value')
  assert.equal(rejection('--every'), '--every needs a value')
  assert.equal(rejection('--signal=yes', '--', 'x'), '--signal takes no value')
  assert.equal(rejection('--no-main-thread=1', '--', 'x'), '--no-main-thread takes no value')
})
