//! V8's own JSON writer for CPU profiles (`CpuProfile::Serialize`, behind Node's
//! `v8.startCpuProfile()`) copies function names, script URLs and deopt reasons into the
//! text without escaping them. A sample taken inside a regular expression names its
//! frame `RegExp: <source>`, so any profile that catches a regex with a `\` or a `"` in
//! it is not JSON, and neither is one naming a function `['a"b']() {}`.
//!
//! The writer's layout is fixed (field order, numbers where numbers go), so the end of
//! each raw string is where that layout resumes. [`repair`] re-reads a rejected text node
//! by node with that layout and writes the strings escaped. It runs only after a strict
//! parse has failed, so valid profiles never pay for it.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::Regex;

// One node as the writer emits it. Lazy strings end at the first point where the rest of
// the node (and the `,` or `]` after it) reads as the writer's layout again.
const NODE: &str = concat!(
  r#"(?s-u)\{"id":\d+,"hitCount":\d+,"callFrame":\{"functionName":""#,
  r#"(?P<name>.*?)"#,
  r#"","lineNumber":-?\d+,"columnNumber":-?\d+,"scriptId":\d+,"url":""#,
  r#"(?P<url>.*?)"#,
  r#""\}(?:,"children":\[\d+(?:,\d+)*\])?"#,
  r#"(?:,"deoptReason":"(?P<deopt>.*?)")?"#,
  r#"(?:,"positionTicks":\[\{"line":\d+,"ticks":\d+\}(?:,\{"line":\d+,"ticks":\d+\})*\])?"#,
  r#"\}(?P<end>[,\]])"#,
);

const HEAD: &[u8] = br#"{"nodes":["#;
// After the node table the writer emits only numbers.
const TAIL: &[u8] = br#","startTime":"#;

fn node_pattern() -> &'static Regex {
  static RE: OnceLock<Regex> = OnceLock::new();
  RE.get_or_init(|| Regex::new(NODE).expect("the node pattern compiles"))
}

/// `text` with every raw string of V8's profile writer escaped, or `None` if `text` does
/// not have that writer's layout or has nothing to escape (its fault is another one).
/// Everything but the strings is copied as it stands.
pub fn repair(text: &[u8]) -> Option<Vec<u8>> {
  if !text.starts_with(HEAD) {
    return None;
  }
  let re = node_pattern();
  let mut out = Vec::with_capacity(text.len() + 64);
  let mut copied = 0; // text[..copied] is in `out`
  let mut at = HEAD.len();
  let mut changed = false;
  loop {
    let c = re.captures_at(text, at)?;
    let whole = c.get(0)?;
    if whole.start() != at {
      return None;
    }
    for s in ["name", "url", "deopt"]
      .into_iter()
      .filter_map(|g| c.name(g))
    {
      if let Cow::Owned(escaped) = escape(s.as_bytes()) {
        out.extend_from_slice(&text[copied..s.start()]);
        out.extend_from_slice(&escaped);
        copied = s.end();
        changed = true;
      }
    }
    at = whole.end();
    if &c["end"] == b"]" {
      break;
    }
  }
  if !changed || !text[at..].starts_with(TAIL) {
    return None;
  }
  out.extend_from_slice(&text[copied..]);
  Some(out)
}

/// JSON string escaping of raw UTF-8 bytes (multi-byte sequences pass through as they are).
fn escape(s: &[u8]) -> Cow<'_, [u8]> {
  if !s.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
    return Cow::Borrowed(s);
  }
  let mut out = Vec::with_capacity(s.len() + 8);
  for &b in s {
    match b {
      b'"' => out.extend_from_slice(br#"\""#),
      b'\\' => out.extend_from_slice(br"\\"),
      b'\n' => out.extend_from_slice(br"\n"),
      b'\r' => out.extend_from_slice(br"\r"),
      b'\t' => out.extend_from_slice(br"\t"),
      b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
      b => out.push(b),
    }
  }
  Cow::Owned(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  // As the writer emits it: the RegExp frame's source and a method name go in raw.
  fn raw() -> String {
    concat!(
      r#"{"nodes":[{"id":1,"hitCount":0,"callFrame":{"functionName":"(root)","lineNumber":-1,"columnNumber":-1,"scriptId":0,"url":""},"children":[2,3]},"#,
      r#"{"id":2,"hitCount":3,"callFrame":{"functionName":"RegExp: ,"startTime":(-?\d+)","lineNumber":-1,"columnNumber":-1,"scriptId":0,"url":""}},"#,
      r#"{"id":3,"hitCount":1,"callFrame":{"functionName":"a"b\c","lineNumber":4,"columnNumber":2,"scriptId":7,"url":"/srv/app "x".js"},"deoptReason":"optimized too many times","positionTicks":[{"line":5,"ticks":1}]}"#,
      r#"],"startTime":10,"endTime":20,"samples":[2,3,2,2],"timeDeltas":[1,1,1,1]}"#,
    )
    .to_string()
  }

  #[test]
  fn escapes_what_the_writer_left_raw() {
    let text = raw();
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    let fixed = repair(text.as_bytes()).expect("repaired");
    let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
    let names: Vec<_> = v["nodes"]
      .as_array()
      .unwrap()
      .iter()
      .map(|n| n["callFrame"]["functionName"].as_str().unwrap().to_string())
      .collect();
    assert_eq!(
      names,
      ["(root)", r#"RegExp: ,"startTime":(-?\d+)"#, r#"a"b\c"#]
    );
    assert_eq!(v["nodes"][2]["callFrame"]["url"], r#"/srv/app "x".js"#);
    assert_eq!(v["nodes"][2]["positionTicks"][0]["ticks"], 1);
    assert_eq!(v["nodes"][0]["children"], serde_json::json!([2, 3]));
    assert_eq!(v["samples"], serde_json::json!([2, 3, 2, 2]));
  }

  #[test]
  fn control_characters_are_escaped() {
    let text = raw().replace(r#"a"b\c"#, "a\nb\x01");
    let fixed = repair(text.as_bytes()).expect("repaired");
    let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
    assert_eq!(v["nodes"][2]["callFrame"]["functionName"], "a\nb\u{1}");
  }

  #[test]
  fn leaves_other_faults_alone() {
    // Valid already, another layout, or broken elsewhere: nothing to repair.
    let clean = raw()
      .replace(r#"RegExp: ,"startTime":(-?\d+)"#, "RegExp: x")
      .replace(r#"a"b\c"#, "abc")
      .replace(r#""x""#, "x");
    assert!(serde_json::from_str::<serde_json::Value>(&clean).is_ok());
    assert_eq!(repair(clean.as_bytes()), None);
    assert_eq!(repair(br#"{"startTime":1,"nodes":[]}"#), None);
    assert_eq!(repair(&raw().as_bytes()[..150]), None);
    let bad_number = raw().replace(r#""hitCount":3"#, r#""hitCount":x"#);
    assert_eq!(repair(bad_number.as_bytes()), None);
  }

  #[test]
  fn control_bytes_are_escaped_and_space_is_not() {
    assert_eq!(&*escape(b"a\x1fb c\x7f"), b"a\\u001fb c\x7f".as_slice());
  }
}
