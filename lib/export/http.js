'use strict'
// One HTTP(S) POST that can never keep the process alive or throw: resolves with
// { status } or { error }.

const http = require('node:http')
const https = require('node:https')
const errors = require('../util/errors')

// The part of a response body kept for the error message: an answer of garbage or of a
// gigabyte costs the same.
const MAX_BODY = 2048

function post(url, headers, body, timeoutMs) {
  return new Promise((resolve) => {
    let done = false
    const finish = (r) => {
      if (!done) {
        done = true
        resolve(r)
      }
    }
    let req
    try {
      const u = new URL(url)
      const lib = u.protocol === 'https:' ? https : http
      req = lib.request(u, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': body.length },
        timeout: timeoutMs,
        agent: false,
      })
    } catch (err) {
      return finish({ error: err })
    }
    // A push in flight must not hold the event loop open: the app exits as it would.
    req.on('socket', (s) => s.unref())
    req.on('timeout', () => req.destroy(errors.noAnswer(timeoutMs)))
    req.on('error', (err) => finish({ error: err }))
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (d) => {
        if (text.length < MAX_BODY) text += d.slice(0, MAX_BODY - text.length)
      })
      res.on('error', (err) => finish({ error: err }))
      res.on('end', () => finish({ status: res.statusCode, text }))
    })
    req.end(body)
  })
}

module.exports = { post }
