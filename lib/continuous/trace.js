'use strict'
// The trace span active where a request's work starts, from @opentelemetry/api when the
// app has it: an optional peer, loaded on first use and never installed by us.

let api // undefined: not looked for yet; null: not there

function load() {
  if (api !== undefined) return api
  try {
    // From the app's point of view, so its own copy (and global tracer) is the one asked.
    const from = require.main?.filename ?? `${process.cwd()}/`
    api = require(require.resolve('@opentelemetry/api', { paths: [from, process.cwd()] }))
  } catch {
    api = null
  }
  return api
}

/** { traceId: Buffer(16), spanId: Buffer(8) } of the active span, or null. */
function activeLink() {
  const otel = load()
  if (!otel) return null
  try {
    const span = otel.trace.getActiveSpan()
    const ctx = span?.spanContext()
    if (!ctx || !otel.isSpanContextValid(ctx)) return null
    return { traceId: Buffer.from(ctx.traceId, 'hex'), spanId: Buffer.from(ctx.spanId, 'hex') }
  } catch {
    return null // a broken tracer must not break the request
  }
}

module.exports = { activeLink }
