//! The `.cpuprofile` JSON that Chrome DevTools, VS Code and speedscope open: V8's own schema.

use serde::Serialize;

use crate::core::profile::{CallFrame, PositionTick, Profile};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutNode<'a> {
  id: u64,
  call_frame: &'a CallFrame,
  hit_count: u64,
  #[serde(skip_serializing_if = "Vec::is_empty")]
  children: Vec<u64>,
  #[serde(skip_serializing_if = "<[_]>::is_empty")]
  position_ticks: &'a [PositionTick],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutProfile<'a> {
  nodes: Vec<OutNode<'a>>,
  start_time: i64,
  end_time: i64,
  samples: Vec<u64>,
  time_deltas: Vec<i64>,
}

pub fn to_cpuprofile(p: &Profile) -> String {
  // V8's own hitCount is handed back untouched (it need not equal the node's count in
  // `samples`); windowing recomputes it for the samples it keeps.
  let nodes = p
    .nodes
    .iter()
    .map(|n| OutNode {
      id: n.id,
      call_frame: &n.call_frame,
      hit_count: n.hit_count,
      children: n.children.iter().map(|&c| p.nodes[c].id).collect(),
      position_ticks: &n.position_ticks,
    })
    .collect();
  let mut prev = p.start_time;
  let time_deltas = p
    .timestamps
    .iter()
    .map(|&t| {
      let d = t - prev;
      prev = t;
      d
    })
    .collect();
  let out = OutProfile {
    nodes,
    start_time: p.start_time,
    end_time: p.end_time,
    samples: p.samples.iter().map(|&s| p.nodes[s].id).collect(),
    time_deltas,
  };
  // Serializing plain structs of strings and integers into a String cannot fail.
  serde_json::to_string(&out).expect("cpuprofile serialization is infallible")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn round_trips_through_the_parser() {
    let text = r#"{"nodes":[
      {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2]},
      {"id":2,"callFrame":{"functionName":"a","scriptId":"1","url":"a.js","lineNumber":3,"columnNumber":1},"hitCount":2,"positionTicks":[{"line":4,"ticks":2}]}
    ],"startTime":10,"endTime":50,"samples":[2,2],"timeDeltas":[5,-1]}"#;
    let p = Profile::from_json(text.as_bytes()).unwrap();
    let out = to_cpuprofile(&p);
    assert_eq!(Profile::from_json(out.as_bytes()).unwrap(), p);
    assert!(out.contains(r#""timeDeltas":[5,-1]"#), "{out}");
    assert!(out.contains(r#""positionTicks":[{"line":4,"ticks":2}]"#));
  }
}
