//! `PATCH U/checkpointdelta`: a checkpoint sent as edits to the previous one (the CLI's
//! `delta-checkpoint-uploads-v2`), so a large stack's update uploads what changed, not the
//! whole state at every step.

use super::updates::LeaseCall;
use super::Service;
use crate::error::{CoreError, CoreResult};
use crate::state_body;

impl Service {
    /// Applies the delta to the update's last saved checkpoint, checks the CLI's hash of
    /// the result, and saves it as the update's version. Any error makes the CLI resend the
    /// whole checkpoint (`checkpointverbatim`), so a refused delta loses nothing.
    pub async fn save_checkpoint_delta(&self, call: &LeaseCall, body: &[u8]) -> CoreResult<()> {
        let ctx = self.lease_ctx(call).await?;
        let (mut op, _, stack, update) = self.lease_op(&ctx, call).await?;
        if !update.kind.writes_state() {
            return Err(CoreError::bad_request("a preview saves no checkpoint"));
        }
        let base = op
            .checkpoint(&stack.id, Some(update.version))
            .await?
            .filter(|c| c.update_id.as_ref() == Some(&update.id))
            .ok_or_else(|| {
                CoreError::bad_request("no checkpoint of this update to apply a delta to")
            })?;
        let base_text = state_body::export_body(
            base.schema_version,
            base.features.as_deref(),
            &base.deployment,
        );
        let (text, _sequence) = state_body::apply_delta(&base_text, body)?;
        let state = state_body::deployment_state(&text)?;
        op.store_version(&stack.id, update.version, Some(&update.id), state)
            .await?;
        op.commit().await
    }
}
