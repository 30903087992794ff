//! Both directions of bigint-safe JSON that need a pass over the text.
//!
//! The format is JSON plus one token: an integer followed by `n` (`-123n`) is a BigInt.
//! Plain JSON never contains that token, so a text without it is plain JSON and means what
//! `JSON.parse` says, and nothing a user puts in a string can look like a BigInt.
//!
//! Reading: `locate` validates the text and finds every BigInt literal. The JS shell then
//! lets V8's own `JSON.parse` build the values (much faster than building them through
//! N-API) from the text with each literal's `n` blanked to a space, so a number stands in
//! its place, and puts the BigInts back following `ops`.
//!
//! Writing: `JSON.stringify` leaves each BigInt as a marker string `"<open><digits>"`, and
//! `unmark` turns those into `<digits>n` literals (see lib/util/json.js for why a marker
//! cannot pass for user data).
//!
//! Texts are JS strings' own code units: Latin-1 bytes (a one-byte string, which most
//! JSON is) or UTF-16, so they cross N-API as plain copies and every offset here is a JS
//! string index.
//!
//! `ops` is a flat list of integers, one group per BigInt in document order:
//! `keep, count, seg_1 .. seg_count, value..`. The path of a BigInt is the first `keep`
//! segments of the previous BigInt's path followed by `seg_1 .. seg_count` (the last
//! segment names the BigInt's own slot); a segment is `index << 1` for an array index and
//! `key << 1 | 1` for the object key at that position of `keys`, a JSON array of the
//! distinct key literals, copied as the JSON strings they already are. `value` is `0`
//! when the number that `JSON.parse` puts in the slot is exact (a safe integer), else
//! `start + 1, end`: where the literal's digits are in the text.

use std::collections::HashMap;

/// A code unit of a JS string: a Latin-1 byte or a UTF-16 unit.
pub trait Unit: Copy + Eq + std::hash::Hash + std::fmt::Debug {
  /// The unit as ASCII, or a byte of 0x80 or above for anything else (which JSON only
  /// allows in strings).
  fn byte(self) -> u8;
  fn from_ascii(b: u8) -> Self;
  /// The unit's value as a UTF-16 code unit (Latin-1 is the first 256 code points).
  fn utf16(self) -> u16;
  /// Index of the first `u` in `hay`.
  fn find(hay: &[Self], u: Self) -> Option<usize>;
  /// The character starting at `t[i]`, for error messages.
  fn char_at(t: &[Self], i: usize) -> char;
  /// The first index from `i` on of a quote, a backslash or a control character: where
  /// a string's plain run ends (`t.len()` if it does not).
  #[inline]
  fn plain_run_end(t: &[Self], mut i: usize) -> usize {
    while let Some(&c) = t.get(i) {
      let c = c.byte();
      if c == b'"' || c == b'\\' || c < 0x20 {
        break;
      }
      i += 1;
    }
    i
  }
}

impl Unit for u8 {
  // Bytes 0x80-0xFF already match no ASCII the scanner looks for.
  #[inline]
  fn byte(self) -> u8 {
    self
  }
  #[inline]
  fn from_ascii(b: u8) -> Self {
    b
  }
  #[inline]
  fn utf16(self) -> u16 {
    self.into()
  }
  #[inline]
  fn find(hay: &[Self], u: Self) -> Option<usize> {
    memchr::memchr(u, hay)
  }
  #[inline]
  fn char_at(t: &[Self], i: usize) -> char {
    t[i].into()
  }
  /// Eight bytes at a time: a byte is flagged when it equals a quote or a backslash, or
  /// is below 0x20 (the classic "has zero byte" / "has byte less than" tricks). Borrows
  /// can only flag bytes above a true match, so the lowest flag is exact.
  #[inline]
  fn plain_run_end(t: &[Self], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = t.get(i..i + 8) {
      let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
      let q = w ^ (ONES * u64::from(b'"'));
      let b = w ^ (ONES * u64::from(b'\\'));
      let m = ((q.wrapping_sub(ONES) & !q)
        | (b.wrapping_sub(ONES) & !b)
        | (w.wrapping_sub(ONES * 0x20) & !w))
        & HIGH;
      if m != 0 {
        return i + (m.trailing_zeros() / 8) as usize;
      }
      i += 8;
    }
    while let Some(&c) = t.get(i) {
      if c == b'"' || c == b'\\' || c < 0x20 {
        break;
      }
      i += 1;
    }
    i
  }
}

impl Unit for u16 {
  #[inline]
  fn byte(self) -> u8 {
    if self < 0x80 {
      self as u8
    } else {
      0x80
    }
  }
  #[inline]
  fn from_ascii(b: u8) -> Self {
    b.into()
  }
  #[inline]
  fn utf16(self) -> u16 {
    self
  }
  #[inline]
  fn find(hay: &[Self], u: Self) -> Option<usize> {
    hay.iter().position(|&c| c == u)
  }
  #[inline]
  fn char_at(t: &[Self], i: usize) -> char {
    char::decode_utf16(t[i..].iter().copied())
      .next()
      .map_or('\u{FFFD}', |c| c.unwrap_or('\u{FFFD}'))
  }
}

/// What `locate` found; the text it was given now has every literal's `n` blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
  /// Number of BigInt literals whose value survives (see duplicate keys below).
  pub count: usize,
  /// Number of literals blanked, including those a duplicate key overrides.
  pub blanked: usize,
  pub ops: Vec<u32>,
  /// JSON array text of the key literals that `ops` refers to.
  pub keys: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
  pub message: String,
  /// Offset in UTF-16 code units, as JS string indices count.
  pub position: usize,
  /// 1-based.
  pub line: usize,
  /// 1-based, in UTF-16 code units.
  pub column: usize,
}

impl std::fmt::Display for SyntaxError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(
      f,
      "{} at position {} (line {} column {})",
      self.message, self.position, self.line, self.column
    )
  }
}

impl std::error::Error for SyntaxError {}

/// One step of a path: an array index, or an object key by its span (quotes included).
/// A span identifies the key within one object, so equal steps on a common prefix mean
/// the very same container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
  Index(usize),
  Key(usize, usize),
}

#[derive(Debug, Clone, Copy)]
struct Key {
  start: usize,
  end: usize,
  escaped: bool,
}

enum Frame {
  Array {
    index: usize,
  },
  Object {
    key: Key,
    // Where this object's keys start in `Scanner::keys`, and its first BigInt in `found`.
    keys_from: usize,
    found_from: usize,
  },
}

struct Found {
  /// Offset of the literal's `n`.
  n_at: usize,
  digits: (usize, usize),
  path: (usize, usize), // range in Scanner::steps
  dropped: bool,
}

struct Scanner<'a, T> {
  t: &'a [T],
  i: usize,
  stack: Vec<Frame>,
  keys: Vec<Key>,
  steps: Vec<Step>,
  found: Vec<Found>,
}

type Fail<X> = Result<X, (usize, String)>;

/// A key literal's value as UTF-16 units (what JS compares), escapes resolved.
fn key_name<T: Unit>(raw: &[T]) -> Vec<u16> {
  let inner = &raw[1..raw.len() - 1];
  let mut out = Vec::with_capacity(inner.len());
  let mut i = 0;
  while i < inner.len() {
    if inner[i].byte() != b'\\' {
      out.push(inner[i].utf16());
      i += 1;
      continue;
    }
    // The scanner validated every escape.
    let c = match inner[i + 1].byte() {
      b'b' => 0x08,
      b'f' => 0x0c,
      b'n' => 0x0a,
      b'r' => 0x0d,
      b't' => 0x09,
      b'u' => {
        let hex = inner[i + 2..i + 6].iter().fold(0u16, |v, h| {
          (v << 4) | (h.byte() as char).to_digit(16).unwrap_or(0) as u16
        });
        i += 4;
        hex
      }
      other => other.into(),
    };
    out.push(c);
    i += 2;
  }
  out
}

impl<'a, T: Unit> Scanner<'a, T> {
  #[inline]
  fn peek(&self) -> Option<u8> {
    self.t.get(self.i).map(|c| c.byte())
  }

  fn ws(&mut self) {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
      self.i += 1;
    }
  }

  fn unexpected<X>(&self, expected: &str) -> Fail<X> {
    let what = if self.i < self.t.len() {
      format!("character {:?}", T::char_at(self.t, self.i))
    } else {
      "end of input".to_string()
    };
    Err((self.i, format!("Unexpected {what}, expected {expected}")))
  }

  /// A string literal; returns its span and whether it holds an escape.
  fn string(&mut self) -> Fail<Key> {
    let start = self.i;
    let mut escaped = false;
    self.i += 1; // opening quote
    loop {
      // Skip plain units quickly; only quotes, backslashes and control units matter.
      self.i = T::plain_run_end(self.t, self.i);
      match self.peek() {
        None => return Err((start, "Unterminated string".into())),
        Some(b'"') => {
          self.i += 1;
          return Ok(Key {
            start,
            end: self.i,
            escaped,
          });
        }
        Some(b'\\') => {
          escaped = true;
          match self.t.get(self.i + 1).map(|c| c.byte()) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
            Some(b'u') => {
              let hex = self.t.get(self.i + 2..self.i + 6);
              if !hex.is_some_and(|h| h.iter().all(|c| c.byte().is_ascii_hexdigit())) {
                return Err((self.i, "Bad Unicode escape in string".into()));
              }
              self.i += 6;
            }
            _ => return Err((self.i, "Bad escape in string".into())),
          }
        }
        Some(_) => return Err((self.i, "Bad control character in string".into())),
      }
    }
  }

  fn digits(&mut self) -> usize {
    let s = self.i;
    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
      self.i += 1;
    }
    self.i - s
  }

  /// A JSON number, or a BigInt literal when an integer is directly followed by `n`.
  fn number(&mut self) -> Fail<()> {
    let start = self.i;
    if self.peek() == Some(b'-') {
      self.i += 1;
    }
    match self.peek() {
      Some(b'0') => self.i += 1,
      Some(b'1'..=b'9') => {
        self.digits();
      }
      _ => return self.unexpected("a digit"),
    }
    if self.peek() == Some(b'n') {
      let from = self.steps.len();
      for f in &self.stack {
        self.steps.push(match f {
          Frame::Array { index } => Step::Index(*index),
          Frame::Object { key, .. } => Step::Key(key.start, key.end),
        });
      }
      self.found.push(Found {
        n_at: self.i,
        digits: (start, self.i),
        path: (from, self.steps.len()),
        dropped: false,
      });
      self.i += 1;
      return Ok(());
    }
    if self.peek() == Some(b'.') {
      self.i += 1;
      if self.digits() == 0 {
        return self.unexpected("a digit after the decimal point");
      }
    }
    if let Some(b'e' | b'E') = self.peek() {
      self.i += 1;
      if let Some(b'+' | b'-') = self.peek() {
        self.i += 1;
      }
      if self.digits() == 0 {
        return self.unexpected("a digit in the exponent");
      }
    }
    Ok(())
  }

  fn literal(&mut self, word: &str) -> Fail<()> {
    let w = word.as_bytes();
    let got = self.t.get(self.i..self.i + w.len());
    if got.is_some_and(|g| g.iter().zip(w).all(|(c, b)| c.byte() == *b)) {
      self.i += w.len();
      Ok(())
    } else {
      Err((self.i, "Unexpected token".into()))
    }
  }

  /// A key and its colon; leaves `i` at the value.
  fn key(&mut self) -> Fail<Key> {
    if self.peek() != Some(b'"') {
      return self.unexpected("a string key");
    }
    let key = self.string()?;
    self.keys.push(key);
    self.ws();
    if self.peek() != Some(b':') {
      return self.unexpected("':' after the key");
    }
    self.i += 1;
    self.ws();
    Ok(key)
  }

  fn raw(&self, k: &Key) -> &'a [T] {
    &self.t[k.start..k.end]
  }

  /// Whether two keys of one object name the same property. Without escapes equal names
  /// are equal literals, which is all most objects need.
  fn has_duplicates(&self, keys: &[Key]) -> bool {
    if keys.iter().any(|k| k.escaped) {
      let mut seen = std::collections::HashSet::with_capacity(keys.len());
      return !keys.iter().all(|k| seen.insert(key_name(self.raw(k))));
    }
    if keys.len() <= 16 {
      return keys
        .iter()
        .enumerate()
        .any(|(j, a)| keys[..j].iter().any(|b| self.raw(a) == self.raw(b)));
    }
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    !keys.iter().all(|k| seen.insert(self.raw(k)))
  }

  /// `JSON.parse` keeps the last of duplicate keys. When an object that holds BigInts
  /// closes, drop every BigInt reached through a key that a later duplicate overrides.
  fn close_object(&mut self, depth: usize, keys_from: usize, found_from: usize) {
    if self.found.len() > found_from && self.has_duplicates(&self.keys[keys_from..]) {
      let mut last = HashMap::with_capacity(self.keys.len() - keys_from);
      for k in &self.keys[keys_from..] {
        last.insert(key_name(self.raw(k)), k.start);
      }
      for f in &mut self.found[found_from..] {
        if let Step::Key(s, e) = self.steps[f.path.0 + depth] {
          if last.get(&key_name(&self.t[s..e])) != Some(&s) {
            f.dropped = true;
          }
        }
      }
    }
    self.keys.truncate(keys_from);
  }

  fn open_object(&mut self) -> Fail<()> {
    let keys_from = self.keys.len();
    let found_from = self.found.len();
    let key = self.key()?;
    self.stack.push(Frame::Object {
      key,
      keys_from,
      found_from,
    });
    Ok(())
  }

  /// Iterative, so nesting depth is bounded by memory, not by the native stack.
  fn run(&mut self) -> Fail<()> {
    self.ws();
    'value: loop {
      match self.peek() {
        Some(b'{') => {
          self.i += 1;
          self.ws();
          if self.peek() == Some(b'}') {
            self.i += 1;
          } else {
            self.open_object()?;
            continue 'value;
          }
        }
        Some(b'[') => {
          self.i += 1;
          self.ws();
          if self.peek() == Some(b']') {
            self.i += 1;
          } else {
            self.stack.push(Frame::Array { index: 0 });
            continue 'value;
          }
        }
        Some(b'"') => {
          self.string()?;
        }
        Some(b't') => self.literal("true")?,
        Some(b'f') => self.literal("false")?,
        Some(b'n') => self.literal("null")?,
        Some(b'-' | b'0'..=b'9') => self.number()?,
        _ => return self.unexpected("a JSON value"),
      }
      // A value is complete: close containers until one wants another value.
      loop {
        self.ws();
        let depth = self.stack.len().saturating_sub(1);
        let next = self.peek();
        match self.stack.last_mut() {
          None => {
            if self.i < self.t.len() {
              return self.unexpected("end of input after the JSON value");
            }
            return Ok(());
          }
          Some(Frame::Array { index }) => match next {
            Some(b',') => {
              *index += 1;
              self.i += 1;
              self.ws();
              continue 'value;
            }
            Some(b']') => {
              self.i += 1;
              self.stack.pop();
            }
            _ => return self.unexpected("',' or ']'"),
          },
          Some(Frame::Object { .. }) => match next {
            Some(b',') => {
              self.i += 1;
              self.ws();
              let key = self.key()?;
              if let Some(Frame::Object { key: k, .. }) = self.stack.last_mut() {
                *k = key;
              }
              continue 'value;
            }
            Some(b'}') => {
              self.i += 1;
              if let Some(Frame::Object {
                keys_from,
                found_from,
                ..
              }) = self.stack.pop()
              {
                self.close_object(depth, keys_from, found_from);
              }
            }
            _ => return self.unexpected("',' or '}'"),
          },
        }
      }
    }
  }

  /// The op stream and key table described in the module docs.
  fn ops(&self) -> (Vec<u32>, Vec<T>) {
    let mut ops = Vec::with_capacity(self.found.len() * 4);
    let mut keys = vec![T::from_ascii(b'[')];
    // Distinct keys are usually few (the field names of a few record shapes), where a
    // list beats hashing; a map takes over when they are many.
    let mut ids: Vec<&[T]> = Vec::new();
    let mut map: HashMap<&[T], usize> = HashMap::new();
    let mut prev: &[Step] = &[];
    for f in self.found.iter().filter(|f| !f.dropped) {
      let path = &self.steps[f.path.0..f.path.1];
      let keep = prev.iter().zip(path).take_while(|(a, b)| a == b).count();
      ops.push(keep as u32);
      ops.push((path.len() - keep) as u32);
      for step in &path[keep..] {
        ops.push(match *step {
          Step::Index(i) => (i as u32) << 1,
          Step::Key(s, e) => {
            let raw = &self.t[s..e];
            let known = if ids.len() <= 32 {
              ids.iter().position(|k| *k == raw)
            } else {
              map.get(raw).copied()
            };
            let id = known.unwrap_or_else(|| {
              if !ids.is_empty() {
                keys.push(T::from_ascii(b','));
              }
              keys.extend_from_slice(raw);
              ids.push(raw);
              if ids.len() == 33 {
                map.extend(ids.iter().enumerate().map(|(k, r)| (*r, k)));
              } else if ids.len() > 33 {
                map.insert(raw, ids.len() - 1);
              }
              ids.len() - 1
            });
            (id as u32) << 1 | 1
          }
        });
      }
      let (s, e) = f.digits;
      if is_safe_integer(&self.t[s..e]) {
        ops.push(0);
      } else {
        ops.push(s as u32 + 1);
        ops.push(e as u32);
      }
      prev = path;
    }
    keys.push(T::from_ascii(b']'));
    (ops, keys)
  }
}

/// Whether an integer literal (`-?[0-9]+`) is at most 2^53 - 1 in magnitude, so the
/// Number that JSON.parse reads for it is exact.
fn is_safe_integer<T: Unit>(lit: &[T]) -> bool {
  let digits = if lit[0].byte() == b'-' {
    &lit[1..]
  } else {
    lit
  };
  const MAX: &[u8] = b"9007199254740991";
  digits.len() < MAX.len()
    || (digits.len() == MAX.len() && digits.iter().map(|c| c.byte()).le(MAX.iter().copied()))
}

fn position<T: Unit>(t: &[T], at: usize) -> (usize, usize, usize) {
  let at = at.min(t.len());
  let before = &t[..at];
  let line_start = before
    .iter()
    .rposition(|c| c.byte() == b'\n')
    .map_or(0, |k| k + 1);
  let line = before.iter().filter(|c| c.byte() == b'\n').count() + 1;
  (at, line, at - line_start + 1)
}

/// Validate bigint-JSON text and locate its BigInt literals, blanking each literal's `n`
/// in `text` (so it is left untouched when there are none).
pub fn locate<T: Unit>(text: &mut [T]) -> Result<Located<T>, SyntaxError> {
  let mut s = Scanner {
    t: &*text,
    i: 0,
    stack: Vec::new(),
    keys: Vec::new(),
    steps: Vec::new(),
    found: Vec::new(),
  };
  if let Err((at, message)) = s.run() {
    let (position, line, column) = position(text, at);
    return Err(SyntaxError {
      message,
      position,
      line,
      column,
    });
  }
  let (ops, keys) = s.ops();
  let count = s.found.iter().filter(|f| !f.dropped).count();
  let n_at: Vec<usize> = s.found.iter().map(|f| f.n_at).collect();
  for &at in &n_at {
    text[at] = T::from_ascii(b' ');
  }
  Ok(Located {
    count,
    blanked: n_at.len(),
    ops,
    keys,
  })
}

/// The write side: every `"<open><-?digits>"` (a marker string JSON.stringify wrote for a
/// BigInt) becomes `<digits>n`. Returns the new text and how many it replaced; `open`
/// must not start with a quote.
pub fn unmark<T: Unit>(text: &[T], open: &[T]) -> (Vec<T>, usize) {
  let mut out = Vec::with_capacity(text.len());
  let mut replaced = 0;
  let mut copied = 0; // text[..copied] is in `out`
  let mut from = 0;
  let Some(&first) = open.first() else {
    return (text.to_vec(), 0);
  };
  while let Some(k) = T::find(&text[from..], first) {
    let at = from + k; // where `open` would start
    from = at + 1;
    if at == 0 || text[at - 1].byte() != b'"' || !text[at..].starts_with(open) {
      continue;
    }
    let d = at + open.len();
    let mut e = d + usize::from(text.get(d).is_some_and(|c| c.byte() == b'-'));
    let digits_from = e;
    while text.get(e).is_some_and(|c| c.byte().is_ascii_digit()) {
      e += 1;
    }
    if e == digits_from || text.get(e).map(|c| c.byte()) != Some(b'"') {
      continue;
    }
    out.extend_from_slice(&text[copied..at - 1]);
    out.extend_from_slice(&text[d..e]);
    out.push(T::from_ascii(b'n'));
    copied = e + 1;
    from = copied;
    replaced += 1;
  }
  out.extend_from_slice(&text[copied..]);
  (out, replaced)
}

/// `locate` on a Rust string (UTF-8), for tests and Rust callers: the blanked text and
/// the key table come back as Strings.
pub fn scan(text: &str) -> Result<(Located<u16>, String), SyntaxError> {
  let mut units: Vec<u16> = text.encode_utf16().collect();
  let found = locate(&mut units)?;
  Ok((found, String::from_utf16_lossy(&units)))
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::{json, Value};

  fn ok(text: &str) -> (Located<u16>, String) {
    scan(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
  }

  /// Apply `ops` the way the JS shell does, with BigInts as `{"big": digits}`.
  fn apply(text: &str) -> Value {
    let (s, json) = ok(text);
    let mut root: Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<String> = serde_json::from_str(&String::from_utf16(&s.keys).unwrap()).unwrap();
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut path: Vec<u32> = Vec::new();
    let mut i = 0;
    let ops = &s.ops;
    while i < ops.len() {
      let (keep, n) = (ops[i] as usize, ops[i + 1] as usize);
      path.truncate(keep);
      path.extend(&ops[i + 2..i + 2 + n]);
      i += 2 + n;
      let mut slot = &mut root;
      for &seg in &path {
        slot = if seg & 1 == 1 {
          &mut slot[keys[(seg >> 1) as usize].as_str()]
        } else {
          &mut slot[(seg >> 1) as usize]
        };
      }
      let digits = if ops[i] == 0 {
        i += 1;
        slot.to_string()
      } else {
        let (a, b) = (ops[i] as usize - 1, ops[i + 1] as usize);
        i += 2;
        String::from_utf16(&units[a..b]).unwrap()
      };
      *slot = json!({ "big": digits });
    }
    root
  }

  #[test]
  fn plain_json_has_no_bigints() {
    for t in [
      "1",
      " -0.5e+10 ",
      "\"1n\"",
      r#"{"a":[1,2,{"b":null}],"c":"x\"y\\u0041"}"#,
      "[]",
      "{}",
      "[true,false,null]",
    ] {
      let (s, json) = ok(t);
      assert_eq!(
        (s.count, s.blanked, s.ops.len(), json.as_str()),
        (0, 0, 0, t),
        "{t}"
      );
    }
  }

  #[test]
  fn finds_bigints_with_their_paths() {
    let text = r#"{"a":[1, 2n, {"b\"c":-30000000000000000000000n}],"d":0n,"e":[[5n],[6n]]}"#;
    let (s, json) = ok(text);
    assert_eq!((s.count, s.blanked), (5, 5));
    assert_eq!(
      json,
      text
        .replace("2n", "2 ")
        .replace("0n", "0 ")
        .replace("5n", "5 ")
        .replace("6n", "6 ")
    );
    assert_eq!(
      apply(text),
      json!({"a":[1, {"big":"2"}, {"b\"c":{"big":"-30000000000000000000000"}}],
             "d":{"big":"0"},"e":[[{"big":"5"}],[{"big":"6"}]]})
    );
    assert_eq!(
      String::from_utf16(&s.keys).unwrap(),
      r#"["a","b\"c","d","e"]"#
    );
    // Relative paths: the second BigInt shares the "a" step; the big one is read from text.
    let big_at = text.find("-3").unwrap() as u32;
    assert_eq!(
      &s.ops[..13],
      &[0, 2, 1, 2, 0, 1, 2, 4, 3, big_at + 1, big_at + 24, 0, 1]
    );
    assert_eq!(ok("7n").0.ops, [0, 0, 0]);
  }

  #[test]
  fn only_safe_integers_are_taken_from_the_parsed_number() {
    for (lit, safe) in [
      ("9007199254740991", true),
      ("-9007199254740991", true),
      ("9007199254740992", false),
      ("18446744073709551615", false),
      ("999999999999999", true),
      ("-0", true),
    ] {
      let ops = ok(&format!("[{lit}n]")).0.ops;
      assert_eq!(ops.len() == 4, safe, "{lit}: {ops:?}");
    }
  }

  #[test]
  fn duplicate_keys_keep_the_last_value() {
    let (s, _) = ok(r#"{"a":1n,"a":2}"#);
    assert_eq!((s.count, s.blanked), (0, 1));
    assert_eq!(apply(r#"{"a":1,"a":2n}"#), json!({"a":{"big":"2"}}));
    assert_eq!(
      apply(r#"{"a":{"b":1n},"x":3n,"\u0061":{"c":2n}}"#),
      json!({"a":{"c":{"big":"2"}},"x":{"big":"3"}})
    );
    assert_eq!(
      apply(r#"[{"k":1n,"k":2n},{"k":3n}]"#),
      json!([{"k":{"big":"2"}},{"k":{"big":"3"}}])
    );
    // Many distinct keys: the key table switches to a map and keeps its ids.
    let wide: String = (0..100)
      .map(|k| format!("\"w{k}\":{k}n"))
      .collect::<Vec<_>>()
      .join(",");
    let v = apply(&format!("{{{wide}}}"));
    assert_eq!(
      (v["w0"]["big"].as_str(), v["w99"]["big"].as_str()),
      (Some("0"), Some("99"))
    );
    // More keys than the pairwise check handles.
    let many: String = (0..20).map(|k| format!("\"k{k}\":{k}n,")).collect();
    assert_eq!(ok(&format!("{{{many}\"k3\":0}}")).0.count, 19);
  }

  #[test]
  fn rejects_invalid_text_with_a_position() {
    let cases = [
      ("", 0),
      ("[1,]", 3),
      ("{\"a\" 1}", 5),
      ("[1.5n]", 4),
      ("[01]", 2),
      ("\"abc", 0),
      ("[1] x", 4),
      ("{\"é\":\n tru}", 7),
      ("[\"\\x\"]", 2),
      ("1e", 2),
      ("[n]", 1),
      ("[\"a\u{1}\"]", 3),
      ("[\"😀\", é]", 7),
    ];
    for (text, pos) in cases {
      let e = scan(text).unwrap_err();
      assert_eq!(e.position, pos, "{text:?}: {e}");
    }
    let e = scan("{\"é\":\n tru}").unwrap_err();
    assert_eq!((e.line, e.column), (2, 2));
    assert!(scan("[\"😀\", é]").unwrap_err().message.contains("'é'"));
    let mut latin1 = b"[1, \xe9]".to_vec();
    let e = locate(&mut latin1).unwrap_err();
    assert_eq!((e.position, e.message.contains("'é'")), (4, true), "{e}");
  }

  #[test]
  fn latin1_and_utf16_agree() {
    let text = "{\"caf\u{e9}\":[1n,\"\u{ff}9n\"],\"x\":18446744073709551616n}";
    let mut latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
    let (wide, _) = ok(text);
    let narrow = locate(&mut latin1).unwrap();
    assert_eq!((narrow.count, &narrow.ops), (wide.count, &wide.ops));
    assert_eq!(
      narrow.keys.iter().map(|&b| b as u16).collect::<Vec<_>>(),
      wide.keys
    );
    assert_eq!(latin1.iter().filter(|&&b| b == b'n').count(), 1);
  }

  #[test]
  fn deep_nesting_does_not_overflow_the_stack() {
    let deep = "[".repeat(1_000_000) + "1n" + &"]".repeat(1_000_000);
    assert_eq!(ok(&deep).0.count, 1);
    assert!(scan(&"[".repeat(1_000_000)).is_err());
  }

  #[test]
  fn agrees_with_serde_json_on_plain_json_validity() {
    // Every truncation of a varied document: valid for us exactly when valid for serde.
    let doc = r#"{"a": [1, -2.5e-3, true, false, null, "s\u00e9\n"], "b": {"c": {}}, "d": []}"#;
    for cut in 0..=doc.len() {
      if !doc.is_char_boundary(cut) {
        continue;
      }
      let t = &doc[..cut];
      let ours = scan(t).is_ok();
      let serde = serde_json::from_str::<serde_json::Value>(t).is_ok();
      assert_eq!(ours, serde, "{t:?}");
    }
  }

  #[test]
  fn unmark_replaces_only_whole_marker_strings() {
    let open = b"~m1~";
    let text = br#"{"a":"~m1~12","b":["~m1~-3","~m1~","~m1~4x","x~m1~5"],"~m1~6":1}"#;
    let (out, n) = unmark(text, open);
    assert_eq!(
      String::from_utf8(out).unwrap(),
      r#"{"a":12n,"b":[-3n,"~m1~","~m1~4x","x~m1~5"],6n:1}"#
    );
    assert_eq!(n, 3);
    let wide: Vec<u16> = "[\"é\",\"~m1~7\"]".encode_utf16().collect();
    let open16: Vec<u16> = "~m1~".encode_utf16().collect();
    let (out, n) = unmark(&wide, &open16);
    assert_eq!(
      (String::from_utf16(&out).unwrap().as_str(), n),
      ("[\"é\",7n]", 1)
    );
    assert_eq!(unmark(b"\"~m1~", open), (b"\"~m1~".to_vec(), 0));
  }

  #[test]
  fn plain_runs_end_where_a_byte_at_a_time_scan_says() {
    let naive = |t: &[u8], i: usize| {
      (i..t.len())
        .find(|&k| matches!(t[k], b'"' | b'\\' | 0..=0x1f))
        .unwrap_or(t.len())
    };
    for special in [b'"', b'\\', 0x00, 0x1f] {
      for at in 0..17 {
        let mut t = vec![b' '; 17];
        t[at] = special;
        assert_eq!(u8::plain_run_end(&t, 0), at, "{special:#x} at {at}");
      }
    }
    let alphabet = [
      b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
    ];
    let mut x: u32 = 12345;
    for _ in 0..2000 {
      let len = (x % 40) as usize;
      let t: Vec<u8> = (0..len)
        .map(|_| {
          x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
          // Mostly plain bytes, so runs are long enough to cross whole words.
          if (x >> 20) & 7 == 0 {
            alphabet[((x >> 16) % alphabet.len() as u32) as usize]
          } else {
            alphabet[[0usize, 5, 6, 7, 8, 9, 10, 11][((x >> 16) % 8) as usize]]
          }
        })
        .collect();
      for i in 0..=len {
        assert_eq!(u8::plain_run_end(&t, i), naive(&t, i), "{t:?} from {i}");
      }
    }
  }

  #[test]
  fn a_syntax_error_displays_its_place() {
    let e = SyntaxError {
      message: "Unexpected end".into(),
      position: 7,
      line: 2,
      column: 3,
    };
    assert_eq!(
      e.to_string(),
      "Unexpected end at position 7 (line 2 column 3)"
    );
  }
}
