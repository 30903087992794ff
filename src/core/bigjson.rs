//! The read side of bigint-safe JSON.
//!
//! The format is JSON plus one token: an integer followed by `n` (`-123n`) is a BigInt.
//! Plain JSON never contains that token, so a text without it is plain JSON and means what
//! `JSON.parse` says, and nothing a user puts in a string can look like a BigInt.
//!
//! `scan` validates the text and finds every BigInt literal. The JS shell then lets V8's
//! own `JSON.parse` build the values (much faster than building them through N-API) from
//! a copy of the text in which each literal's `n` is blanked to a space, so a number
//! stands in its place, and puts the BigInts back following `ops`.
//!
//! `ops` is a JSON array, one group per BigInt in document order:
//! `keep, count, seg_1 .. seg_count, "digits"`. The path of a BigInt is the first `keep`
//! segments of the previous BigInt's path followed by `seg_1 .. seg_count` (object keys
//! as strings, array indices as numbers; the last segment names the BigInt's own slot).
//! Consecutive BigInts share most of their path, so the stream stays small, and keys are
//! copied as the JSON string literals they already are.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
  /// Number of BigInt literals whose value survives (see duplicate keys below).
  pub count: usize,
  /// The text with every BigInt literal's `n` replaced by a space; empty if none.
  pub json: String,
  pub ops: String,
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

/// One step of a path: an array index, or an object key by its byte span (quotes
/// included). A span identifies the key within one object, so equal steps on a common
/// prefix mean the very same container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
  Index(usize),
  Key(usize, usize),
}

enum Frame {
  Array {
    index: usize,
  },
  Object {
    key: (usize, usize),
    // Where this object's keys start in `Scanner::keys`, and its first BigInt in `found`.
    keys_from: usize,
    found_from: usize,
  },
}

struct Found {
  /// Byte offset of the literal's `n`.
  n_at: usize,
  digits: (usize, usize),
  path: (usize, usize), // range in Scanner::steps
  dropped: bool,
}

struct Scanner<'a> {
  text: &'a str,
  b: &'a [u8],
  i: usize,
  stack: Vec<Frame>,
  keys: Vec<(usize, usize)>,
  steps: Vec<Step>,
  found: Vec<Found>,
}

type Fail<T> = Result<T, (usize, String)>;

impl<'a> Scanner<'a> {
  fn ws(&mut self) {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
      self.i += 1;
    }
  }

  fn peek(&self) -> Option<u8> {
    self.b.get(self.i).copied()
  }

  fn unexpected<T>(&self, expected: &str) -> Fail<T> {
    let what = match self.text[self.i..].chars().next() {
      None => "end of input".to_string(),
      Some(c) => format!("character {c:?}"),
    };
    Err((self.i, format!("Unexpected {what}, expected {expected}")))
  }

  fn string(&mut self) -> Fail<(usize, usize)> {
    let start = self.i;
    self.i += 1; // opening quote
    loop {
      // Skip plain bytes quickly; only quotes, backslashes and control bytes matter.
      while let Some(&c) = self.b.get(self.i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
          break;
        }
        self.i += 1;
      }
      match self.peek() {
        None => return Err((start, "Unterminated string".into())),
        Some(b'"') => {
          self.i += 1;
          return Ok((start, self.i));
        }
        Some(b'\\') => match self.b.get(self.i + 1) {
          Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
          Some(b'u') => {
            let hex = self.b.get(self.i + 2..self.i + 6);
            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
              return Err((self.i, "Bad Unicode escape in string".into()));
            }
            self.i += 6;
          }
          _ => return Err((self.i, "Bad escape in string".into())),
        },
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
          Frame::Object { key, .. } => Step::Key(key.0, key.1),
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
    if self.b[self.i..].starts_with(word.as_bytes()) {
      self.i += word.len();
      Ok(())
    } else {
      Err((self.i, "Unexpected token".into()))
    }
  }

  /// A key and its colon; leaves `i` at the value.
  fn key(&mut self) -> Fail<(usize, usize)> {
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

  /// `JSON.parse` keeps the last of duplicate keys. When an object that holds BigInts
  /// closes, drop every BigInt reached through a key that a later duplicate overrides.
  fn close_object(&mut self, depth: usize, keys_from: usize, found_from: usize) {
    if self.found.len() > found_from {
      let keys = &self.keys[keys_from..];
      let name = |&(s, e): &(usize, usize)| -> std::borrow::Cow<'_, str> {
        let raw = &self.text[s..e];
        if raw.contains('\\') {
          serde_json::from_str::<String>(raw)
            .map(Into::into)
            .unwrap_or(raw.into())
        } else {
          raw[1..raw.len() - 1].into()
        }
      };
      let mut last = std::collections::HashMap::with_capacity(keys.len());
      for k in keys {
        last.insert(name(k), k.0);
      }
      if last.len() < keys.len() {
        for f in &mut self.found[found_from..] {
          if let Step::Key(s, e) = self.steps[f.path.0 + depth] {
            if last.get(&name(&(s, e))) != Some(&s) {
              f.dropped = true;
            }
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
        match self.stack.last_mut() {
          None => {
            if self.i < self.b.len() {
              return self.unexpected("end of input after the JSON value");
            }
            return Ok(());
          }
          Some(Frame::Array { index }) => match self.b.get(self.i) {
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
          Some(Frame::Object { .. }) => match self.b.get(self.i) {
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

  /// The op stream described in the module docs.
  fn ops(&self) -> String {
    let mut out = String::with_capacity(self.found.len() * 24 + 2);
    out.push('[');
    let mut prev: &[Step] = &[];
    for f in self.found.iter().filter(|f| !f.dropped) {
      let path = &self.steps[f.path.0..f.path.1];
      let keep = prev.iter().zip(path).take_while(|(a, b)| a == b).count();
      if out.len() > 1 {
        out.push(',');
      }
      out.push_str(&format!("{keep},{}", path.len() - keep));
      for step in &path[keep..] {
        out.push(',');
        match *step {
          Step::Index(i) => out.push_str(&i.to_string()),
          Step::Key(s, e) => out.push_str(&self.text[s..e]),
        }
      }
      out.push_str(",\"");
      out.push_str(&self.text[f.digits.0..f.digits.1]);
      out.push('"');
      prev = path;
    }
    out.push(']');
    out
  }
}

fn locate(text: &str, byte: usize) -> (usize, usize, usize) {
  let byte = byte.min(text.len());
  let before = &text[..text.floor_char_boundary(byte)];
  let position = before.encode_utf16().count();
  let line_start = before.rfind('\n').map_or(0, |k| k + 1);
  let line = before.matches('\n').count() + 1;
  let column = before[line_start..].encode_utf16().count() + 1;
  (position, line, column)
}

pub fn scan(text: &str) -> Result<Scan, SyntaxError> {
  let mut s = Scanner {
    text,
    b: text.as_bytes(),
    i: 0,
    stack: Vec::new(),
    keys: Vec::new(),
    steps: Vec::new(),
    found: Vec::new(),
  };
  if let Err((at, message)) = s.run() {
    let (position, line, column) = locate(text, at);
    return Err(SyntaxError {
      message,
      position,
      line,
      column,
    });
  }
  if s.found.is_empty() {
    return Ok(Scan {
      count: 0,
      json: String::new(),
      ops: "[]".into(),
    });
  }
  let mut bytes = text.as_bytes().to_vec();
  for f in &s.found {
    bytes[f.n_at] = b' ';
  }
  // Only an ASCII `n` was replaced by an ASCII space, so the bytes are still UTF-8.
  let json = String::from_utf8(bytes).expect("ASCII-for-ASCII replacement keeps UTF-8");
  Ok(Scan {
    count: s.found.iter().filter(|f| !f.dropped).count(),
    json,
    ops: s.ops(),
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::{json, Value};

  fn ok(text: &str) -> Scan {
    scan(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
  }

  /// Apply `ops` the way the JS shell does, with BigInts as `{"big": digits}`.
  fn apply(s: &Scan) -> Value {
    if s.count == 0 {
      return Value::Null;
    }
    let mut root: Value = serde_json::from_str(&s.json).unwrap();
    let ops: Vec<Value> = serde_json::from_str(&s.ops).unwrap();
    let mut path: Vec<Value> = Vec::new();
    let mut i = 0;
    while i < ops.len() {
      let keep = ops[i].as_u64().unwrap() as usize;
      let n = ops[i + 1].as_u64().unwrap() as usize;
      path.truncate(keep);
      path.extend(ops[i + 2..i + 2 + n].iter().cloned());
      let digits = ops[i + 2 + n].as_str().unwrap().to_string();
      i += 3 + n;
      let mut slot = &mut root;
      for seg in &path {
        slot = match seg {
          Value::String(k) => &mut slot[k.as_str()],
          Value::Number(n) => &mut slot[n.as_u64().unwrap() as usize],
          _ => unreachable!(),
        };
      }
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
      let s = ok(t);
      assert_eq!(
        (s.count, s.json.as_str(), s.ops.as_str()),
        (0, "", "[]"),
        "{t}"
      );
    }
  }

  #[test]
  fn finds_bigints_with_their_paths() {
    let text = r#"{"a":[1, 2n, {"b\"c":-30000000000000000000000n}],"d":0n,"e":[[5n],[6n]]}"#;
    let s = ok(text);
    assert_eq!(s.count, 5);
    assert_eq!(s.json.len(), text.len());
    assert_eq!(
      apply(&s),
      json!({"a":[1, {"big":"2"}, {"b\"c":{"big":"-30000000000000000000000"}}],
             "d":{"big":"0"},"e":[[{"big":"5"}],[{"big":"6"}]]})
    );
    // Relative paths: the second array element shares the "a" step.
    assert!(
      s.ops
        .starts_with(r#"[0,2,"a",1,"2",1,2,2,"b\"c","-30000000000000000000000",0,1,"d","0""#),
      "{}",
      s.ops
    );
    let root = ok("7n");
    assert_eq!((root.count, root.ops.as_str()), (1, r#"[0,0,"7"]"#));
  }

  #[test]
  fn duplicate_keys_keep_the_last_value() {
    let s = ok(r#"{"a":1n,"a":2}"#);
    assert_eq!(s.count, 0);
    assert_eq!(apply(&ok(r#"{"a":1,"a":2n}"#)), json!({"a":{"big":"2"}}));
    assert_eq!(
      apply(&ok(r#"{"a":{"b":1n},"x":3n,"\u0061":{"c":2n}}"#)),
      json!({"a":{"c":{"big":"2"}},"x":{"big":"3"}})
    );
    assert_eq!(
      apply(&ok(r#"[{"k":1n,"k":2n},{"k":3n}]"#)),
      json!([{"k":{"big":"2"}},{"k":{"big":"3"}}])
    );
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
    ];
    for (text, pos) in cases {
      let e = scan(text).unwrap_err();
      assert_eq!(e.position, pos, "{text:?}: {e}");
    }
    let e = scan("{\"é\":\n tru}").unwrap_err();
    assert_eq!((e.line, e.column), (2, 2));
  }

  #[test]
  fn deep_nesting_does_not_overflow_the_stack() {
    let deep = "[".repeat(1_000_000) + "1n" + &"]".repeat(1_000_000);
    let s = ok(&deep);
    assert_eq!(s.count, 1);
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
