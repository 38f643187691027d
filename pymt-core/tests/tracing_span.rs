//! With the `tracing` feature, every task run is inside a `pymt.task` span
//! carrying its id, name, priority and pool.
#![cfg(feature = "tracing")]

use pymt_core as pymt;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, rendered with `Debug`.
type SpanRecord = (String, Vec<(String, String)>);

/// Records every span's name and fields.
#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    spans: Mutex<Vec<SpanRecord>>,
}

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

/// The subscriber installed globally; the test keeps a handle to read it.
#[derive(Clone, Default)]
struct Shared(Arc<Recorder>);

impl Subscriber for Shared {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(Vec::new());
        span.record(&mut fields);
        self.0
            .spans
            .lock()
            .unwrap()
            .push((span.metadata().name().to_owned(), fields.0));
        Id::from_u64(self.0.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn each_task_run_has_a_span_with_its_fields() {
    let recorder = Shared::default();
    tracing::subscriber::set_global_default(recorder.clone()).unwrap();

    let pool = pymt::Pool::builder()
        .name("traced")
        .max_workers(1)
        .build()
        .unwrap();
    let task = pymt::TaskBuilder::new()
        .name("job")
        .priority(4)
        .submit(&pool, || 1);
    let id = task.id().as_u64();
    assert!(task.wait_timeout(std::time::Duration::from_secs(10)));

    let spans = recorder.0.spans.lock().unwrap();
    let (_, fields) = spans
        .iter()
        .find(|(name, fields)| {
            name == "pymt.task"
                && fields
                    .iter()
                    .any(|(k, v)| k == "id" && *v == id.to_string())
        })
        .expect("a pymt.task span for the task");
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("name"), Some("\"job\""));
    assert_eq!(get("priority"), Some("4"));
    assert_eq!(get("pool"), Some("\"traced\""));
}
