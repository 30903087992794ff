'use strict'
// The preload's continuous mode (--pyroscope, --otlp): one period per --every window,
// pushed to the backends, and written as files too when --out was given.
//
// Nothing here may hurt the app: every failure becomes a line on stderr, never a throw.

const path = require('node:path')

function run(config, line) {
  require('../..')
  const { startContinuous } = require('../continuous')
  const { writeReport, writeReportSync } = require('./output')
  const say = (text) => config.progress && line(text)
  let windows = 0
  const dirOf = (n) => path.join(config.out, `window-${String(n).padStart(3, '0')}`)
  const labelOf = (n) => `window ${n} (--every ${config.every})`
  let writes = Promise.resolve()

  const onPeriod = config.writeFiles
    ? (report) => {
        const n = ++windows
        writes = writes
          .then(() =>
            writeReport(report, dirOf(n), { command: config.command, window: labelOf(n) }),
          )
          .then(
            (files) => say(`${labelOf(n)}: wrote ${files.length} files to ${dirOf(n)}`),
            (err) => line(`could not write the profile of ${labelOf(n)}: ${err?.message ?? err}`),
          )
        return writes
      }
    : undefined

  const handle = startContinuous({
    serviceName: path.basename(process.argv[1] ?? 'node').replace(/\.[cm]?js$/, '') || 'node',
    periodMs: config.everyMs,
    samplingIntervalUs: config.intervalUs,
    mainThread: config.mainThread,
    pyroscope: config.pyroscope ?? undefined,
    otlp: config.otlp ?? undefined,
    onPeriod,
  })

  const report = (stats) => {
    for (const [name, s] of Object.entries(stats.exporters)) {
      const lost = s.failed + s.dropped + s.encodeErrors
      const text = `${name}: pushed ${s.sent} of ${s.sent + lost + s.queued} periods`
      if (lost > 0 || s.queued > 0) line(`${text} (last error: ${s.lastError})`)
      else say(text)
    }
  }

  let ending = null
  const end = () => {
    ending ??= handle
      .stop()
      .then(async (stats) => {
        await writes
        report(stats)
      })
      .catch((err) => line(`continuous profiling failed at its end: ${err?.message ?? err}`))
    return ending
  }

  process.on('beforeExit', () => {
    if (ending === null) end()
  })

  const { onUnhandledTerminatingSignal, EXIT_BUDGET_MS } = require('./signals')
  onUnhandledTerminatingSignal((sig, reraise) => {
    if (ending !== null) return
    say(`${sig}: pushing the last period before the app stops`)
    end().finally(reraise)
  })

  // process.exit() and uncaught errors: no request can be sent any more; the last period
  // is written if files were asked for, and said to be lost for the backends.
  process.on('exit', () => {
    if (ending !== null) return
    try {
      const last = handle.stopNow(EXIT_BUDGET_MS)
      if (last === null) return
      line('the app exited synchronously: its last period was not pushed')
      if (config.writeFiles) {
        const n = ++windows
        writeReportSync(last, dirOf(n), { command: config.command, window: labelOf(n) })
      }
    } catch (err) {
      line(`could not stop continuous profiling at exit: ${err?.message ?? err}`)
    }
  })
}

module.exports = { run }
