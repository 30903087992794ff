'use strict'
// The pool's task: render a table of `rows` rows of fake metrics for `user`.
function metric(user, row) {
  let x = user * 31 + row
  for (let i = 0; i < 2000; i++) x = (x * 1103515245 + 12345) % 2147483648
  return x / 2147483648
}

function renderRow(user, row) {
  const cells = []
  for (let c = 0; c < 8; c++) cells.push(`<td>${metric(user, row * 8 + c).toFixed(4)}</td>`)
  return `<tr>${cells.join('')}</tr>`
}

module.exports = function renderReport({ user, rows }) {
  const out = []
  for (let r = 0; r < rows; r++) out.push(renderRow(user, r))
  return `<table data-user="${user}">${out.join('\n')}</table>`
}
