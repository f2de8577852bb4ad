//! Engine event batches: any bytes are a batch or a 400, never a panic; each stored event
//! is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackgate_core::state_body::engine_events;

fuzz_target!(|body: &[u8]| {
    if let Ok(events) = engine_events(body) {
        for e in events {
            assert!(e.sequence >= 0);
            serde_json::from_str::<serde_json::Value>(&e.body).expect("stored events are JSON");
        }
    }
});
