'use strict'
// What every exporter shares: a bounded queue of encoded periods, sent one at a time with
// a timeout, retried with exponential backoff, the oldest dropped (and counted) when the
// queue is full. A backend that is down, slow or answers garbage costs the app one queue
// of memory and nothing else: no throw, no unhandled rejection, no handle that keeps the
// process alive.

const { post } = require('./http')

const DEFAULTS = { queueSize: 8, retries: 3, timeoutMs: 10_000, backoffMs: 1000 }
const MAX_BACKOFF_MS = 60_000

// Statuses worth a retry: the backend may take the same body later.
const retryable = (status) => status === 408 || status === 429 || status >= 500

class Sender {
  /** @param {{ name: string, queueSize?: number, retries?: number, timeoutMs?: number, backoffMs?: number }} o */
  constructor(o) {
    this.name = o.name
    this.queueSize = o.queueSize ?? DEFAULTS.queueSize
    this.retries = o.retries ?? DEFAULTS.retries
    this.timeoutMs = o.timeoutMs ?? DEFAULTS.timeoutMs
    this.backoffMs = o.backoffMs ?? DEFAULTS.backoffMs
    this.queue = [] // { url, headers, body, tries }
    this.busy = false
    this.encoding = 0 // pushed, not yet encoded
    this.timer = null
    this.idle = []
    this.counts = { sent: 0, failed: 0, dropped: 0, retried: 0, encodeErrors: 0, bytes: 0 }
    this.lastError = null
  }

  stats() {
    return { ...this.counts, queued: this.queue.length, lastError: this.lastError }
  }

  /** `request` resolves with { url, headers, body }; encoding failures are counted here. */
  push(request) {
    this.encoding++
    request.then(
      (r) => {
        this.encoding--
        this.queue.push({ ...r, tries: 0 })
        while (this.queue.length > this.queueSize) {
          this.queue.shift()
          this.counts.dropped++
        }
        this.pump()
      },
      (err) => {
        this.encoding--
        this.counts.encodeErrors++
        this.lastError = `encoding: ${err?.message ?? err}`
        this.pump()
      },
    )
  }

  pump() {
    if (this.busy || this.timer !== null) return
    const item = this.queue[0]
    if (!item) {
      if (this.encoding === 0) for (const r of this.idle.splice(0)) r()
      return
    }
    this.busy = true
    post(item.url, item.headers, item.body, this.timeoutMs).then((r) => {
      this.busy = false
      const ok = r.status >= 200 && r.status < 300
      if (ok) {
        this.counts.sent++
        this.counts.bytes += item.body.length
      } else {
        this.lastError = r.error
          ? String(r.error.message ?? r.error)
          : `HTTP ${r.status}: ${String(r.text).slice(0, 200)}`
      }
      // The queue may have moved on (dropped the oldest) while this one was in flight.
      const still = this.queue[0] === item
      if (ok || !still) {
        if (still) this.queue.shift()
        return this.pump()
      }
      if ((r.error || retryable(r.status)) && item.tries < this.retries) {
        item.tries++
        this.counts.retried++
        const wait = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2 ** (item.tries - 1))
        this.timer = setTimeout(
          () => {
            this.timer = null
            this.pump()
          },
          wait * (0.5 + Math.random() / 2),
        )
        this.timer.unref()
        return
      }
      this.queue.shift()
      this.counts.failed++
      this.pump()
    })
  }

  /**
   * Resolves once every queued period has been sent or given up, or after `ms`: the
   * waits between retries are cut short, so a down backend costs at most `ms`.
   */
  flush(ms) {
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
      this.pump()
    }
    if (!this.busy && this.queue.length === 0 && this.encoding === 0) return Promise.resolve()
    return new Promise((resolve) => {
      // Not unref'd: a stop at the app's end (beforeExit) keeps the process for the
      // last pushes, `ms` at most; the sockets themselves never hold it.
      const t = setTimeout(resolve, ms)
      this.idle.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }
}

module.exports = { Sender, DEFAULTS }
