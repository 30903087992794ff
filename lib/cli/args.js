'use strict'
// The command line of `profiled-worker [options] -- <command> [args...]`, parsed with
// node:util parseArgs: a handful of flags needs no dependency, and parseArgs' strict mode
// already rejects unknown options and stray arguments.

const path = require('node:path')
const { parseArgs } = require('node:util')
const { DEFAULTS, isIntervalUs } = require('../protocol')

const USAGE = `Usage: profiled-worker [options] -- <command> [args...]
       profiled-worker merge DIR... [--out DIR]

Runs <command> (a Node.js app: node app.js ...) with profiled-worker preloaded and
CPU-profiles its main thread and every worker thread it starts or sends work to.

Options:
  -o, --out <dir>         where to write the profiles (default: ./profiles)
      --every <duration>  one set of files per window of this length: 500ms, 30s, 2m
      --signal            profile between SIGUSR2s: the first starts, the next stops
                          and writes, and so on
      --no-main-thread    profile the workers only
      --first-only        profile the first Node process only, not those it starts
      --interval <us>     V8 sampling interval in microseconds (default: 1000)
  -h, --help              show this help
      --version           show the version

Without --every or --signal, one profile covers the app from start to exit.
Each profile writes thread-<id>-<name>.cpuprofile (one per thread), profile.pb.gz,
flamegraph.svg and summary.txt into <dir>, or into <dir>/window-001, -002, ...
with --every or --signal. Exit status: the app's own; 2 for a bad command line.
`

class UsageError extends Error {}

/** @type {import('node:util').ParseArgsConfig['options']} */
const OPTIONS = {
  out: { type: 'string', short: 'o' },
  every: { type: 'string' },
  signal: { type: 'boolean' },
  'no-main-thread': { type: 'boolean' },
  'first-only': { type: 'boolean' },
  interval: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
}

const UNITS = { ms: 1, s: 1000, m: 60_000 }
const MIN_WINDOW_MS = 100

/** `500ms`, `30s`, `1.5m` → ms. */
function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)
  if (!m) {
    throw new UsageError(
      `--every needs a duration with a unit (500ms, 30s, 2m), got ${JSON.stringify(text)}`,
    )
  }
  const ms = Number(m[1]) * UNITS[m[2]]
  if (ms < MIN_WINDOW_MS) {
    throw new UsageError(
      `--every ${text} is shorter than ${MIN_WINDOW_MS}ms; each window stops a profile and writes files`,
    )
  }
  return Math.round(ms)
}

function parseInterval(text) {
  const us = /^\d+$/.test(text) ? Number(text) : NaN
  if (!isIntervalUs(us)) {
    throw new UsageError(
      `--interval must be a whole number of microseconds from 1 to 1000000, got ${JSON.stringify(text)}`,
    )
  }
  return us
}

/** Plain words for parseArgs' errors, which speak of its API, not of our command line. */
function explain(err, ours) {
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const flag = /'([^']+)'/.exec(err.message)?.[1] ?? err.message
      return `unknown option ${flag}`
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const word = ours.find((a) => !a.startsWith('-')) ?? ''
      return `unexpected argument ${JSON.stringify(word)}: put the command after --, as in profiled-worker -- node app.js`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /--[\w-]+/.exec(err.message)?.[0]
      if (flag && /argument missing/.test(err.message)) return `${flag} needs a value`
      if (flag && /does not take an argument/.test(err.message)) return `${flag} takes no value`
      return err.message
    }
    default:
      return err.message
  }
}

/**
 * argv (without node and the script) → { help } | { version } | the run's settings.
 * Throws UsageError with a message for the user.
 */
function parseCommandLine(argv, cwd = process.cwd()) {
  const dd = argv.indexOf('--')
  const ours = dd < 0 ? argv : argv.slice(0, dd)
  const command = dd < 0 ? [] : argv.slice(dd + 1)
  /** @type {Record<string, any>} */
  let values
  try {
    ;({ values } = parseArgs({ args: ours, options: OPTIONS, strict: true }))
  } catch (err) {
    throw new UsageError(explain(err, ours))
  }
  if (values.help) return { help: true }
  if (values.version) return { version: true }
  const settings = {
    command,
    out: path.resolve(cwd, values.out ?? 'profiles'),
    mode: values.signal ? 'signal' : values.every !== undefined ? 'every' : 'run',
    everyMs: values.every === undefined ? null : parseDuration(values.every),
    every: values.every ?? null,
    mainThread: !values['no-main-thread'],
    firstOnly: Boolean(values['first-only']),
    intervalUs:
      values.interval === undefined ? DEFAULTS.samplingIntervalUs : parseInterval(values.interval),
  }
  if (values.every !== undefined && values.signal) {
    throw new UsageError('--every and --signal cannot be combined: choose one way to cut windows')
  }
  if (values.out === '') throw new UsageError('--out needs a directory')
  if (command.length === 0) {
    throw new UsageError(
      dd < 0
        ? 'missing -- and the command to run, as in profiled-worker -- node app.js'
        : 'missing the command after --, as in profiled-worker -- node app.js',
    )
  }
  return settings
}

module.exports = { parseCommandLine, parseDuration, UsageError, USAGE }
