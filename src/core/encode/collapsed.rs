//! Collapsed stacks (`root;caller;callee 12`), the input of flamegraph.pl, inferno and
//! speedscope.

use std::collections::BTreeMap;

use super::function_name;
use crate::core::profile::{CallFrame, Profile};
use crate::core::report::{thread_label, Report};

/// `name (url:line)` with 1-based lines; separators that would split a frame are replaced.
fn frame_text(cf: &CallFrame) -> String {
  let name = function_name(cf);
  let text = if cf.url.is_empty() {
    name.to_string()
  } else {
    format!("{name} ({}:{})", cf.url, cf.line_number + 1)
  };
  text.replace(';', ",").replace(['\n', '\r'], " ")
}

fn add_stacks(p: &Profile, prefix: Option<&str>, out: &mut BTreeMap<String, u64>) {
  let frames: Vec<String> = p.nodes.iter().map(|n| frame_text(&n.call_frame)).collect();
  for (node, count) in p.self_counts().into_iter().enumerate() {
    if count == 0 {
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

/// Every thread's stacks under a bottom frame naming the thread.
pub fn report_to_collapsed(r: &Report) -> String {
  let mut stacks = BTreeMap::new();
  for t in &r.threads {
    let label = thread_label(t.thread_id, &t.name).replace(';', ",");
    add_stacks(&t.profile, Some(&label), &mut stacks);
  }
  render(stacks)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::core::report::ThreadProfile;

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
}
