//! Checkpoint and import bodies: any bytes are a deployment or a 400, never a panic; an
//! accepted deployment's stored text reads back as the same deployment through its export.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackgate_core::state_body::{deployment_state, export_body};

fuzz_target!(|body: &[u8]| {
    if let Ok(state) = deployment_state(body) {
        let export = export_body(
            state.schema_version,
            state.features.as_deref(),
            &state.deployment,
        );
        let again =
            deployment_state(&export).expect("an export of an accepted deployment reads back");
        assert_eq!(again, state);
    }
});
