//! One generic libuv-pool task: run a closure off the JS thread, convert its output on it.

use std::marker::PhantomData;

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Result, Task};

use super::guard::guard;

type Job<T> = Box<dyn FnOnce() -> Result<T> + Send>;

pub struct OffThread<T: Send + 'static, J> {
  job: Option<Job<T>>,
  js: PhantomData<fn() -> J>,
}

impl<T: Send + 'static, J> OffThread<T, J> {
  pub fn new(job: impl FnOnce() -> Result<T> + Send + 'static) -> Self {
    OffThread {
      job: Some(Box::new(job)),
      js: PhantomData,
    }
  }
}

impl<T, J> Task for OffThread<T, J>
where
  T: Send + 'static,
  J: From<T> + ToNapiValue + TypeName,
{
  type Output = T;
  type JsValue = J;

  fn compute(&mut self) -> Result<T> {
    let job = self.job.take().expect("a task is computed once");
    guard(job)
  }

  fn resolve(&mut self, _env: Env, output: T) -> Result<J> {
    Ok(J::from(output))
  }
}
