//! Reading the audit log.

use stackgate_store::{AuditEvent, AuditQuery};

use super::Service;
use crate::authz::Action;
use crate::error::{CoreError, CoreResult};
use crate::principal::Ctx;

pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass back as `continuationToken` for the next (older) page.
    pub continuation: Option<String>,
}

impl Service {
    /// Events of one org, newest first. `query.org_id` is filled in here.
    pub async fn list_audit(
        &self,
        ctx: &Ctx,
        org_name: &str,
        continuation: Option<&str>,
        mut query: AuditQuery,
    ) -> CoreResult<AuditPage> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let org = self.org(&mut *tx, org_name).await?;
            let facts = self.facts(&mut *tx, ctx, &org).await?;
            self.authorize(
                ctx,
                &org,
                Action::ReadAuditLog,
                &facts,
                &format!("audit log of organization '{org_name}'"),
            )?;
            query.org_id = org.id.clone();
            if let Some(c) = continuation {
                let id = c
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| CoreError::bad_request("invalid continuationToken"))?;
                query.before_id = Some(id);
            }
            if let Some(login) = &query.user_login {
                if tx.user_by_login(login).await?.is_none()
                    && tx.org_by_name(login).await?.is_none()
                {
                    return Err(CoreError::not_found(format!("user '{login}' not found")));
                }
            }
            let events = tx.list_audit(&query).await?;
            let continuation = (events.len() == query.limit as usize)
                .then(|| events.last().map(|e| e.id.to_string()))
                .flatten();
            Ok(AuditPage {
                events,
                continuation,
            })
        }
        .await;
        self.finish(ctx, r).await
    }
}

impl Service {
    /// Authorizes reading the audit log of an org (for endpoints that read no events,
    /// such as the event-type catalogue).
    pub async fn authorize_audit_read(&self, ctx: &Ctx, org_name: &str) -> CoreResult<()> {
        let r: CoreResult<_> = async {
            let mut tx = self.store.read().await?;
            let org = self.org(&mut *tx, org_name).await?;
            let facts = self.facts(&mut *tx, ctx, &org).await?;
            self.authorize(
                ctx,
                &org,
                Action::ReadAuditLog,
                &facts,
                &format!("audit log of organization '{org_name}'"),
            )
        }
        .await;
        self.finish(ctx, r).await
    }
}
