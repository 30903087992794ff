//! Collapsed stacks (`root;caller;callee 12`), the input of flamegraph.pl, inferno and
//! speedscope.

use std::collections::BTreeMap;

use super::function_name;
use crate::core::assemble::{OTHER_WORK, UNSAMPLED};
use crate::core::profile::{CallFrame, Profile};
use crate::core::report::{thread_label, Report};

/// `name (url:line)` with 1-based lines; separators that would split a frame are replaced.
pub(crate) fn frame_text(cf: &CallFrame) -> String {
  let name = function_name(cf);
  let text = if cf.url.is_empty() {
    name.to_string()
  } else {
    format!("{name} ({}:{})", cf.url, cf.line_number + 1)
  };
  protect_trailing_number(text.replace(';', ",").replace(['\n', '\r'], " "))
}

/// Flame graph tools read a line's last space-separated number as its count and a number
/// before it as a differential count, so a leaf frame ending in ` 5` (a url-less name such
/// as `RegExp: a 5`) would be misread; a no-break space there looks the same.
fn protect_trailing_number(text: String) -> String {
  let looks_like_count = |tail: &str| {
    tail.chars().any(|c| c.is_ascii_digit()) && tail.chars().all(|c| c.is_ascii_digit() || c == '.')
  };
  match text.rfind(' ') {
    Some(k) if looks_like_count(&text[k + 1..]) => {
      format!("{}\u{a0}{}", &text[..k], &text[k + 1..])
    }
    _ => text,
  }
}

fn add_stacks(p: &Profile, prefix: Option<&str>, out: &mut BTreeMap<String, u64>) {
  let frames: Vec<String> = p.nodes.iter().map(|n| frame_text(&n.call_frame)).collect();
  for (node, count) in p.self_counts().into_iter().enumerate() {
    // Markers stand for time no sample was taken in (see `assemble`): not samples.
    if count == 0 || p.is_marker(node, OTHER_WORK) || p.is_marker(node, UNSAMPLED) {
      continue;
    }
    let mut line: Vec<&str> = prefix.into_iter().collect();
    line.extend(p.stack(node).into_iter().map(|i| frames[i].as_str()));
    if line.is_empty() {
      // A sample on the bare root has no frame; flame graph tools need one.
      line.push("(root)");
    }
    *out.entry(line.join(";")).or_insert(0) += count;
  }
}

fn render(stacks: BTreeMap<String, u64>) -> String {
  let mut s = String::new();
  for (stack, count) in stacks {
    s.push_str(&stack);
    s.push(' ');
    s.push_str(&count.to_string());
    s.push('\n');
  }
  s
}

/// One line per distinct stack, sorted, weighted by sample count.
pub fn profile_to_collapsed(p: &Profile) -> String {
  let mut stacks = BTreeMap::new();
  add_stacks(p, None, &mut stacks);
  render(stacks)
}

/// Each thread's collapsed stacks (sorted, every line under the thread's bottom frame),
/// in the report's thread order.
pub(crate) fn report_stacks_by_thread(r: &Report) -> Vec<BTreeMap<String, u64>> {
  r.threads
    .iter()
    .map(|t| {
      let label = protect_trailing_number(thread_label(t.thread_id, &t.name).replace(';', ","));
      let mut stacks = BTreeMap::new();
      add_stacks(&t.profile, Some(&label), &mut stacks);
      stacks
    })
    .collect()
}

/// Every thread's stacks under a bottom frame naming the thread.
pub fn report_to_collapsed(r: &Report) -> String {
  let mut stacks = BTreeMap::new();
  for thread in report_stacks_by_thread(r) {
    for (stack, count) in thread {
      *stacks.entry(stack).or_insert(0) += count;
    }
  }
  render(stacks)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::report::ThreadProfile;

  // V8's own JSON, not the test builder: a function name with `;` in it.
  fn profile() -> Profile {
    let text = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"children":[2,3]},
      {"id":2,"callFrame":{"functionName":"","scriptId":"1","url":"a.js","lineNumber":0,"columnNumber":0},"children":[4]},
      {"id":3,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},
      {"id":4,"callFrame":{"functionName":"b;c","scriptId":"1","url":"a.js","lineNumber":4,"columnNumber":2}}
    ],"startTime":1000,"endTime":2000,"samples":[2,4,4,3,1],"timeDeltas":[100,100,100,100,100]}"#;
    Profile::from_json(text.as_bytes()).unwrap()
  }

  #[test]
  fn one_line_per_stack_with_counts() {
    assert_eq!(
      profile_to_collapsed(&profile()),
      "(anonymous) (a.js:1) 1\n(anonymous) (a.js:1);b,c (a.js:5) 2\n(idle) 1\n(root) 1\n"
    );
  }

  #[test]
  fn report_lines_start_with_the_thread() {
    let t = |id, name: &str| ThreadProfile {
      thread_id: id,
      name: name.into(),
      profile: std::sync::Arc::new(profile()),
      cpu_time_ns: None,
    };
    let r = Report::merge("p", vec![t(2, "w"), t(0, "main")]).unwrap();
    let out = report_to_collapsed(&r);
    // A sample on the bare root is attributed to the thread frame alone.
    assert!(
      out.starts_with("main (thread 0) 1\nmain (thread 0);(anonymous) (a.js:1) 1\n"),
      "{out}"
    );
    assert!(out.contains("\nw (thread 2);(idle) 1\n"), "{out}");
    let total: u64 = out
      .lines()
      .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
      .sum();
    assert_eq!(total, 10);
  }

  #[test]
  fn markers_of_time_are_not_samples() {
    use crate::core::assemble::Assembly;
    use crate::core::testing::ProfileBuilder;
    use crate::core::window::Spans;
    let p = ProfileBuilder::new(0, 5000)
      .every(0, 1000, 5, "task@app.js")
      .build();
    let spans = Spans::from_flat(&[500.0, 2500.0]).unwrap();
    let a = Assembly::new(0, 5000, Some(spans)).assemble(&[&p]).unwrap();
    // (other work) and (unsampled) in the profile; only the two samples in the span here.
    assert_eq!(profile_to_collapsed(&a), "task (app.js:5) 2\n");
  }

  #[test]
  fn a_frame_ending_in_a_number_cannot_be_read_as_a_count() {
    let cf = |name: &str| CallFrame {
      function_name: name.into(),
      script_id: "0".into(),
      url: "".into(),
      line_number: -1,
      column_number: -1,
    };
    assert_eq!(frame_text(&cf("RegExp: a 5")), "RegExp: a\u{a0}5");
    assert_eq!(frame_text(&cf("x 1.5")), "x\u{a0}1.5");
    assert_eq!(frame_text(&cf("trailing ")), "trailing ");
    assert_eq!(frame_text(&cf("get x5")), "get x5");
  }
}
