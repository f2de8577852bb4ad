//! The route table: every API route as (method, path template, handler, documentation),
//! once.
//!
//! The router is built from [`table`], and the tests that must cover every route (the
//! permission sweep, audit coverage) iterate over [`route_list`], which is derived from
//! the same entries. A route therefore cannot be served without those tests knowing it.
//! The OpenAPI document ([`crate::openapi`]) is generated from the same entries too: each
//! names its [`Op`], and its request is described from the handler's extractor types.
//! Each entry names one method, so the method a test sees is the method the handler is
//! mounted on; entries that share a path are merged by `Router::route` (which panics on a
//! repeated method and path, so a duplicate entry cannot go unnoticed either).

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use tower_http::compression::CompressionLayer;
use utoipa::ToSchema;

use super::{audit, orgs, pulumi_team, stacks, state, tokens, user};
use crate::openapi::{self, describe, DescribeArgs, Op, RequestDoc};
use crate::AppState;

/// One API route: a method on a path template, the handler mounted there, and what the
/// OpenAPI document says of it.
pub struct Route {
    pub method: Method,
    /// The path in axum's syntax (`/api/orgs/{org}`), as the router matches it.
    pub path: &'static str,
    pub(crate) endpoint: MethodRouter<AppState>,
    /// The request, as the handler's extractors describe it.
    pub request: RequestDoc,
    pub op: Op,
}

impl Route {
    fn new<T: DescribeArgs>(
        method: Method,
        path: &'static str,
        endpoint: MethodRouter<AppState>,
        op: Op,
    ) -> Route {
        let mut request = RequestDoc::default();
        <T as DescribeArgs>::describe(&mut request);
        Route {
            method,
            path,
            endpoint,
            request,
            op,
        }
    }

    /// GET (axum also answers HEAD through a GET handler, without the body).
    fn get<H: Handler<T, AppState>, T: DescribeArgs + 'static>(
        path: &'static str,
        h: H,
        op: Op,
    ) -> Route {
        Route::new::<T>(Method::GET, path, routing::get(h), op)
    }

    fn head<H: Handler<T, AppState>, T: DescribeArgs + 'static>(
        path: &'static str,
        h: H,
        op: Op,
    ) -> Route {
        Route::new::<T>(Method::HEAD, path, routing::head(h), op)
    }

    fn post<H: Handler<T, AppState>, T: DescribeArgs + 'static>(
        path: &'static str,
        h: H,
        op: Op,
    ) -> Route {
        Route::new::<T>(Method::POST, path, routing::post(h), op)
    }

    fn patch<H: Handler<T, AppState>, T: DescribeArgs + 'static>(
        path: &'static str,
        h: H,
        op: Op,
    ) -> Route {
        Route::new::<T>(Method::PATCH, path, routing::patch(h), op)
    }

    fn delete<H: Handler<T, AppState>, T: DescribeArgs + 'static>(
        path: &'static str,
        h: H,
        op: Op,
    ) -> Route {
        Route::new::<T>(Method::DELETE, path, routing::delete(h), op)
    }

    /// For routes whose request body is read by `StateBody` with its own limit: lifts
    /// the API-wide 1 MiB limit so that the state limit applies.
    fn state_sized(self) -> Route {
        let endpoint = self
            .endpoint
            .layer(axum::extract::DefaultBodyLimit::disable());
        Route { endpoint, ..self }
    }

    /// Names the type the handler parses its `StateBody` as, for the document.
    fn state_body<B: ToSchema>(mut self) -> Route {
        self.request.body = Some(describe::body_schema::<B>());
        self
    }

    /// Gzips the response when the client accepts it (exports can be large; other
    /// responses are small and gain nothing from it).
    fn gzipped(self) -> Route {
        let endpoint = self.endpoint.layer(CompressionLayer::new().gzip(true));
        Route { endpoint, ..self }
    }
}

/// Every API route, grouped by area. `S` is `/api/stacks/{org}/{project}/{stack}`.
pub fn table() -> Vec<Route> {
    use Op as O;
    vec![
        Route::get(
            "/healthz",
            super::healthz,
            O::json("GetHealth", "Liveness: 200 while the process serves requests.", "Health"),
        ),
        Route::get(
            "/readyz",
            super::readyz,
            O::json("GetReadiness", "Readiness: 200 when the database answers, 503 when not.", "Readiness")
                .also(&[503]),
        ),
        Route::get(
            "/api/capabilities",
            super::capabilities,
            O::json("Capabilities", "What the Pulumi CLI may use beyond the base protocol.", "Capabilities"),
        ),
        Route::get(
            openapi::SPEC_PATH,
            openapi::spec,
            O::json("FetchRestSpecification", "This document.", "OpenApiDocument"),
        ),
        // The caller.
        Route::get(
            "/api/user",
            user::current_user,
            O::json("GetCurrentUser", "The caller: a user, or the org or team a token acts for.", "User"),
        ),
        Route::get(
            "/api/user/organizations/default",
            user::default_org,
            O::json("GetDefaultOrganization", "The caller's default organization.", "DefaultOrganization"),
        ),
        Route::get(
            "/api/user/tokens",
            user::list_tokens,
            O::json("ListPersonalTokens", "The caller's personal access tokens.", "ListAccessTokensResponse"),
        ),
        Route::post(
            "/api/user/tokens",
            user::create_token,
            O::json("CreatePersonalToken", "Creates a personal access token; its value is shown only here.", "CreateAccessTokenResponse"),
        ),
        Route::delete(
            "/api/user/tokens/{tokenId}",
            user::delete_token,
            O::no_content("DeletePersonalToken", "Revokes a personal access token."),
        ),
        Route::get(
            "/api/user/stacks",
            user::list_stacks,
            O::json("ListUserStacks", "The stacks the caller may read (`pulumi stack ls`).", "ListStacksResponse"),
        ),
        // Orgs and members.
        Route::get(
            "/api/orgs/{org}",
            orgs::get_org,
            O::json("GetOrganization", "An organization and its settings.", "Organization"),
        ),
        Route::patch(
            "/api/orgs/{org}",
            orgs::update_org,
            O::json("UpdateOrganizationSettings", "Changes an organization's settings (admin).", "Organization"),
        ),
        Route::get(
            "/api/orgs/{org}/members",
            orgs::list_members,
            O::json("ListOrganizationMembers", "The organization's members, a page at a time.", "ListOrganizationMembersResponse"),
        ),
        Route::post(
            "/api/orgs/{org}/members/{login}",
            orgs::add_member,
            O::json("AddOrganizationMember", "Adds an existing user to the organization with a role.", "OrganizationMember"),
        ),
        Route::patch(
            "/api/orgs/{org}/members/{login}",
            orgs::update_member,
            O::no_content("UpdateOrganizationMember", "Changes a member's role; the last admin stays admin."),
        ),
        Route::delete(
            "/api/orgs/{org}/members/{login}",
            orgs::remove_member,
            O::no_content("DeleteOrganizationMember", "Removes a member (and their tokens' access) from the organization."),
        ),
        Route::get(
            "/api/orgs/{org}/members/{login}/teams",
            orgs::member_teams,
            O::json("GetOrganizationMemberTeams", "The teams a member belongs to.", "MemberTeams"),
        ),
        // Teams. `pulumi` is the creation path; a team may still be named "pulumi".
        Route::get(
            "/api/orgs/{org}/teams",
            orgs::list_teams,
            O::json("ListTeams", "The organization's teams.", "ListTeamsResponse"),
        ),
        Route::post(
            "/api/orgs/{org}/teams/pulumi",
            orgs::create_team,
            O::json("CreatePulumiTeam", "Creates a team.", "Team"),
        ),
        Route::get(
            "/api/orgs/{org}/teams/pulumi",
            pulumi_team::get,
            O::json("GetTeamNamedPulumi", "The team named `pulumi`.", "Team"),
        ),
        Route::patch(
            "/api/orgs/{org}/teams/pulumi",
            pulumi_team::update,
            O::no_content("UpdateTeamNamedPulumi", "Changes the team named `pulumi`."),
        ),
        Route::delete(
            "/api/orgs/{org}/teams/pulumi",
            pulumi_team::delete,
            O::no_content("DeleteTeamNamedPulumi", "Deletes the team named `pulumi`."),
        ),
        Route::get(
            "/api/orgs/{org}/teams/{team}",
            orgs::get_team,
            O::json("GetTeam", "A team with its members and stacks.", "Team"),
        ),
        Route::patch(
            "/api/orgs/{org}/teams/{team}",
            orgs::update_team,
            O::no_content("UpdateTeam", "Changes a team: its names, a member, or a stack's permission."),
        ),
        Route::delete(
            "/api/orgs/{org}/teams/{team}",
            orgs::delete_team,
            O::no_content("DeleteTeam", "Deletes a team and revokes its tokens."),
        ),
        // Tokens.
        Route::get(
            "/api/orgs/{org}/teams/{team}/tokens",
            tokens::list_team_tokens,
            O::json("ListTeamTokens", "A team's access tokens.", "ListAccessTokensResponse"),
        ),
        Route::post(
            "/api/orgs/{org}/teams/{team}/tokens",
            tokens::create_team_token,
            O::json("CreateTeamToken", "Creates a team access token; its value is shown only here.", "CreateAccessTokenResponse"),
        ),
        Route::delete(
            "/api/orgs/{org}/teams/{team}/tokens/{tokenId}",
            tokens::delete_team_token,
            O::no_content("DeleteTeamToken", "Revokes a team access token."),
        ),
        Route::get(
            "/api/orgs/{org}/tokens",
            tokens::list_org_tokens,
            O::json("ListOrgTokens", "The organization's access tokens.", "ListAccessTokensResponse"),
        ),
        Route::post(
            "/api/orgs/{org}/tokens",
            tokens::create_org_token,
            O::json("CreateOrgToken", "Creates an organization access token (member scope, or admin with `admin: true`).", "CreateAccessTokenResponse"),
        ),
        Route::delete(
            "/api/orgs/{org}/tokens/{tokenId}",
            tokens::delete_org_token,
            O::no_content("DeleteOrgToken", "Revokes an organization access token."),
        ),
        // The audit log.
        Route::get(
            "/api/orgs/{org}/auditlogs",
            audit::list::<audit::V1>,
            O::json("ListAuditLogEventsHandlerV1", "Audit events, newest first (v1: `startTime` is the upper bound).", "ListAuditLogEventsResponse"),
        ),
        Route::get(
            "/api/orgs/{org}/auditlogs/v2",
            audit::list::<audit::V2>,
            O::json("ListAuditLogEventsHandlerV2", "Audit events, newest first, between `startTime` and `endTime`.", "ListAuditLogEventsResponse"),
        ),
        Route::get(
            "/api/orgs/{org}/auditlogs/event-types",
            audit::event_types,
            O::json("ListAuditLogEventTypes", "Every event type the audit log records.", "AuditLogEventTypes"),
        ),
        Route::get(
            "/api/orgs/{org}/auditlogs/export",
            audit::export::<audit::V1>,
            O::text("ExportAuditLogEventsHandlerV1", "Every matching audit event as CSV or CEF (v1 time bounds)."),
        )
        .gzipped(),
        Route::get(
            "/api/orgs/{org}/auditlogs/v2/export",
            audit::export::<audit::V2>,
            O::text("ExportAuditLogEventsHandlerV2", "Every matching audit event as CSV or CEF (v2 time bounds)."),
        )
        .gzipped(),
        Route::get(
            "/api/orgs/{org}/auditlogs/verify",
            audit::verify,
            O::json("VerifyAuditLogChain", "Walks the organization's audit hash chain [stackgate].", "AuditLogVerification"),
        ),
        // Stacks.
        Route::post(
            "/api/orgs/{org}/bulk-transfer/stacks",
            stacks::transfer_all,
            O::json("TransferAllStacks", "Moves every stack of the organization to another.", "TransferAllStacksResult"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}",
            stacks::create_stack,
            O::json("CreateStack", "Creates a stack (`pulumi stack init`).", "CreateStackResponse"),
        ),
        Route::head(
            "/api/stacks/{org}/{project}",
            stacks::project_exists,
            O::exists("ProjectExists", "Whether the organization has a stack of this project."),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}",
            stacks::get_stack,
            O::json("GetStack", "A stack, with its tags, version and running update.", "Stack"),
        ),
        Route::delete(
            "/api/stacks/{org}/{project}/{stack}",
            stacks::delete_stack,
            O::no_content("DeleteStack", "Deletes a stack (one holding resources needs `force`)."),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/transfer",
            stacks::transfer_stack,
            O::no_content("TransferStack", "Moves a stack to another organization."),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/rename",
            stacks::rename_stack,
            O::no_content("RenameStack", "Renames a stack, or moves it to another project."),
        ),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/tags",
            stacks::replace_tags,
            O::no_content("UpdateStackTags", "Replaces a stack's tags."),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/tags",
            stacks::set_tag,
            O::no_content("AddStackTag", "Sets one tag of a stack."),
        ),
        Route::delete(
            "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
            stacks::delete_tag,
            O::no_content("DeleteStackTag", "Removes one tag of a stack."),
        ),
        // The state backend (the Pulumi CLI). `U` = S/{kind}/{updateId}.
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/update",
            state::create_update,
            O::json("CreateUpdateForUpdate", "Creates an update (`pulumi up`); the body is the CLI's program request.", "UpdateCreated"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/preview",
            state::create_preview,
            O::json("CreateUpdateForPreview", "Creates a preview (`pulumi preview`).", "UpdateCreated"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/refresh",
            state::create_refresh,
            O::json("CreateUpdateForRefresh", "Creates a refresh (`pulumi refresh`).", "UpdateCreated"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/destroy",
            state::create_destroy,
            O::json("CreateUpdateForDestroy", "Creates a destroy (`pulumi destroy`).", "UpdateCreated"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
            state::start_update,
            O::json("StartUpdate", "Starts an update and answers its lease (one running update per stack: 409).", "UpdateStarted"),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
            state::get_update,
            O::json("GetUpdateStatus", "An update's status.", "UpdateStatus"),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events",
            state::update_events,
            O::json("GetEngineEvents", "The engine events the CLI recorded, in order, a page at a time.", "EngineEvents"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/cancel",
            state::cancel_update,
            O::no_content("CancelUpdate", "Cancels a running update (`pulumi cancel`)."),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/renew_lease",
            state::renew_lease,
            O::json("RenewUpdateLease", "Extends the update's lease.", "LeaseRenewed"),
        ),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
            state::checkpoint,
            O::no_content("PatchUpdateCheckpoint", "Saves the update's checkpoint (`{version, deployment}`)."),
        )
        .state_sized(),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointverbatim",
            state::checkpoint,
            O::no_content("PatchUpdateVerbatimCheckpoint", "Saves the update's checkpoint byte for byte (`{version, untypedDeployment, sequenceNumber}`)."),
        )
        .state_sized(),
        Route::patch(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointdelta",
            state::checkpoint_delta,
            O::no_content("PatchUpdateCheckpointDelta", "Saves the update's checkpoint as edits to the previous one, checked by SHA-256."),
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events/batch",
            state::events_batch,
            O::no_content("RecordEngineEventBatch", "Records engine events (`{events: [...]}`, deduplicated by sequence)."),
        )
        .state_sized(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/complete",
            state::complete_update,
            O::no_content("CompleteUpdate", "Ends the update with its final status."),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/export",
            state::export,
            O::json("ExportStack", "The stack's newest deployment (`pulumi stack export`).", "UntypedDeployment"),
        )
        .gzipped(),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/export/{version}",
            state::export_version,
            O::json("ExportStackAtVersion", "The deployment of one kept version.", "UntypedDeployment"),
        )
        .gzipped(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/import",
            state::import,
            O::json("ImportStack", "Replaces the stack's state (`pulumi stack import`; `{version, deployment}`).", "ImportResult"),
        )
        .state_sized(),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/updates",
            state::history,
            O::json("GetStackUpdates", "The stack's update history, newest first (`pulumi stack history`).", "UpdateHistory"),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/updates/{version}",
            state::update_info,
            O::json("GetStackUpdate", "One update of the history, by version or `latest`.", "StackUpdate"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/encrypt",
            state::encrypt,
            O::json("EncryptValue", "Encrypts a base64 value with the stack's key.", "Ciphertext"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt",
            state::decrypt,
            O::json("DecryptValue", "Decrypts a value the stack's key encrypted (audited).", "Plaintext"),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
            state::batch_encrypt,
            O::json("BatchEncryptValue", "Encrypts many base64 values, in order.", "Ciphertexts"),
        )
        .state_sized()
        .state_body::<state::BatchEncryptRequest>(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/batch-decrypt",
            state::batch_decrypt,
            O::json("BatchDecryptValue", "Decrypts many values, keyed by ciphertext (audited).", "Plaintexts"),
        )
        .state_sized()
        .state_body::<state::BatchDecryptRequest>(),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt/log-decryption",
            state::log_decryption,
            O::no_content("LogOnlyDecryptValue", "Records that the CLI decrypted a value locally."),
        ),
        Route::post(
            "/api/stacks/{org}/{project}/{stack}/decrypt/log-batch-decryption",
            state::log_decryption,
            O::no_content("LogOnlyBatchDecryptValue", "Records that the CLI decrypted values locally."),
        ),
        Route::get(
            "/api/stacks/{org}/{project}/{stack}/teams",
            stacks::stack_teams,
            O::json("ListStackTeams", "The teams that hold a permission on the stack.", "StackTeams"),
        ),
        Route::patch(
            "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
            stacks::set_stack_team,
            O::no_content("UpdateTeamStackPermissions", "Sets a team's permission on the stack."),
        ),
        Route::get(
            "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
            stacks::member_stack_permissions,
            O::json("ListMemberStackPermissions", "Where a member's permission on a stack comes from.", "MemberStackPermissions"),
        ),
    ]
}

/// `(method, path template)` of every route of [`table`], in table order: what the
/// route-coverage tests iterate over.
pub fn route_list() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}
