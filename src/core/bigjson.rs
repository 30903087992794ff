//! The read side of bigint-safe JSON.
//!
//! The format is JSON plus one token: an integer followed by `n` (`-123n`) is a BigInt.
//! Plain JSON never contains that token, so a text without it is plain JSON and means what
//! `JSON.parse` says, and nothing a user puts in a string can look like a BigInt.
//!
//! `scan` validates the text and finds every BigInt literal with its path. The JS shell then
//! lets V8's own `JSON.parse` build the values (faster than building them through N-API)
//! from a copy of the text in which each literal is replaced by a placeholder string, and
//! puts the BigInts back at their paths.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
  Key(String),
  Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigIntAt {
  pub path: Vec<PathSeg>,
  /// Decimal digits with an optional leading `-`, as `BigInt()` accepts them.
  pub digits: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
  pub bigints: Vec<BigIntAt>,
  /// The text with every BigInt literal replaced by `"<placeholder>"`; empty when there
  /// were none.
  pub json: String,
  /// A string the input cannot contain, so a value equal to it came from a replacement.
  pub placeholder: String,
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

enum Frame {
  Array { index: usize },
  // The key's byte range, quotes included; decoded only if a BigInt lies below it.
  Object { key: (usize, usize) },
}

struct Scanner<'a> {
  text: &'a str,
  b: &'a [u8],
  i: usize,
  stack: Vec<Frame>,
  found: Vec<(usize, usize, BigIntAt)>,
}

type Step<T> = Result<T, (usize, String)>;

impl<'a> Scanner<'a> {
  fn ws(&mut self) {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
      self.i += 1;
    }
  }

  fn peek(&self) -> Option<u8> {
    self.b.get(self.i).copied()
  }

  fn unexpected<T>(&self, expected: &str) -> Step<T> {
    let what = match self.text[self.i..].chars().next() {
      None => "end of input".to_string(),
      Some(c) => format!("character {c:?}"),
    };
    Err((self.i, format!("Unexpected {what}, expected {expected}")))
  }

  fn string(&mut self) -> Step<(usize, usize)> {
    let start = self.i;
    self.i += 1; // opening quote
    loop {
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
        Some(c) if c < 0x20 => return Err((self.i, "Bad control character in string".into())),
        Some(_) => self.i += 1,
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
  fn number(&mut self) -> Step<()> {
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
    let int_end = self.i;
    if self.peek() == Some(b'n') {
      self.i += 1;
      let path = self.path();
      let digits = self.text[start..int_end].to_string();
      self.found.push((start, self.i, BigIntAt { path, digits }));
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

  fn path(&self) -> Vec<PathSeg> {
    self
      .stack
      .iter()
      .map(|f| match f {
        Frame::Array { index } => PathSeg::Index(*index),
        Frame::Object { key: (s, e) } => PathSeg::Key(
          // The range was validated as a JSON string literal, so this cannot fail.
          serde_json::from_str(&self.text[*s..*e]).unwrap_or_default(),
        ),
      })
      .collect()
  }

  fn literal(&mut self, word: &str) -> Step<()> {
    if self.b[self.i..].starts_with(word.as_bytes()) {
      self.i += word.len();
      Ok(())
    } else {
      Err((self.i, "Unexpected token".into()))
    }
  }

  /// A key and its colon; leaves `i` at the value.
  fn key(&mut self) -> Step<(usize, usize)> {
    if self.peek() != Some(b'"') {
      return self.unexpected("a string key");
    }
    let key = self.string()?;
    self.ws();
    if self.peek() != Some(b':') {
      return self.unexpected("':' after the key");
    }
    self.i += 1;
    self.ws();
    Ok(key)
  }

  /// Iterative, so nesting depth is bounded by memory, not by the native stack.
  fn run(&mut self) -> Step<()> {
    self.ws();
    'value: loop {
      match self.peek() {
        Some(b'{') => {
          self.i += 1;
          self.ws();
          if self.peek() == Some(b'}') {
            self.i += 1;
          } else {
            let key = self.key()?;
            self.stack.push(Frame::Object { key });
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
              self.stack.pop();
              self.stack.push(Frame::Object { key });
              continue 'value;
            }
            Some(b'}') => {
              self.i += 1;
              self.stack.pop();
            }
            _ => return self.unexpected("',' or '}'"),
          },
        }
      }
    }
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

fn random_tag() -> u64 {
  // RandomState is seeded from the OS per process; a fresh one per call differs.
  let mut h = RandomState::new().build_hasher();
  h.write_usize(&h as *const _ as usize);
  h.finish()
}

pub fn scan(text: &str) -> Result<Scan, SyntaxError> {
  let mut s = Scanner {
    text,
    b: text.as_bytes(),
    i: 0,
    stack: Vec::new(),
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
  let mut placeholder;
  loop {
    placeholder = format!("__profiled_worker_bigint_{:016x}__", random_tag());
    if !text.contains(&placeholder) {
      break;
    }
  }
  let mut json = String::new();
  if !s.found.is_empty() {
    json.reserve(text.len() + s.found.len() * (placeholder.len() + 2));
    let mut last = 0;
    for (start, end, _) in &s.found {
      json.push_str(&text[last..*start]);
      json.push('"');
      json.push_str(&placeholder);
      json.push('"');
      last = *end;
    }
    json.push_str(&text[last..]);
  }
  Ok(Scan {
    bigints: s.found.into_iter().map(|(_, _, b)| b).collect(),
    json,
    placeholder,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn ok(text: &str) -> Scan {
    scan(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
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
      assert!(s.bigints.is_empty() && s.json.is_empty(), "{t}");
      assert!(serde_json::from_str::<serde_json::Value>(t).is_ok());
    }
  }

  #[test]
  fn finds_bigints_with_their_paths() {
    let s = ok(r#"{"a":[1, 2n, {"b\"c":-30000000000000000000000n}],"d":0n}"#);
    use PathSeg::*;
    assert_eq!(
      s.bigints,
      vec![
        BigIntAt {
          path: vec![Key("a".into()), Index(1)],
          digits: "2".into()
        },
        BigIntAt {
          path: vec![Key("a".into()), Index(2), Key("b\"c".into())],
          digits: "-30000000000000000000000".into()
        },
        BigIntAt {
          path: vec![Key("d".into())],
          digits: "0".into()
        },
      ]
    );
    let v: serde_json::Value = serde_json::from_str(&s.json).unwrap();
    assert_eq!(v["d"], serde_json::Value::String(s.placeholder.clone()));
    assert_eq!(ok("7n").bigints[0].path, vec![]);
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
    assert_eq!(s.bigints[0].path.len(), 1_000_000);
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
}
