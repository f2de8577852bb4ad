//! The sweep's cases: for every route, one request by a principal that lacks the
//! permission the route needs, and what it must answer.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::common::{
    checkpoint_body, forged_token, lease, update_request, TestApp, Who, ONE_RESOURCE,
};

/// A team literally named "pulumi", whose path is also the team-creation path; the sweep
/// creates it in `acme` before the cases run.
pub const PULUMI_TEAM: &str = "/api/orgs/acme/teams/pulumi";

const ROLE: Option<&str> = Some("auth-failure-organization-role");
const STACK_PERM: Option<&str> = Some("auth-failure-stack-permission");

pub struct Case {
    pub path: String,
    pub who: Who,
    pub body: Option<Value>,
    pub want: u16,
    /// For 403s about an org: the auth-failure event expected in `acme`'s log.
    pub event: Option<&'static str>,
}

fn case(path: impl Into<String>, who: Who, body: Option<Value>, want: u16) -> Case {
    Case {
        path: path.into(),
        who,
        body,
        want,
        event: None,
    }
}

fn refused(
    path: impl Into<String>,
    who: Who,
    body: Option<Value>,
    event: Option<&'static str>,
) -> Case {
    Case {
        event,
        ..case(path, who, body, 403)
    }
}

/// One unauthorized case per route. `update_id` is an update of the fixture's stack,
/// created (not started) by its admin.
pub fn cases(app: &TestApp, update_id: &str) -> BTreeMap<(&'static str, &'static str), Case> {
    let a = app.actors();
    let stack = "/api/stacks/acme/proj/dev";
    let bad = forged_token("0123456789abcdef0123456789abcdef");
    let mut m = BTreeMap::new();
    let mut add = |method: &'static str, template: &'static str, c: Case| {
        assert!(
            m.insert((method, template), c).is_none(),
            "two cases for {method} {template}"
        );
    };

    // Public.
    add("GET", "/healthz", case("/healthz", Who::Nobody, None, 200));
    add("GET", "/readyz", case("/readyz", Who::Nobody, None, 200));
    add(
        "GET",
        "/api/capabilities",
        case("/api/capabilities", Who::Nobody, None, 200),
    );
    add(
        "GET",
        "/api/openapi/pulumi-spec.json",
        case("/api/openapi/pulumi-spec.json", Who::Nobody, None, 200),
    );

    // Open to every authenticated principal: the one who lacks the permission has no
    // (valid) credentials.
    add(
        "GET",
        "/api/user",
        case("/api/user", Who::Nobody, None, 401),
    );
    add(
        "GET",
        "/api/user/organizations/default",
        case(
            "/api/user/organizations/default",
            Who::Token(bad.clone()),
            None,
            401,
        ),
    );
    add(
        "GET",
        "/api/user/stacks",
        case(
            "/api/user/stacks",
            Who::Header("token pul-not-a-token".into()),
            None,
            401,
        ),
    );

    // Personal tokens: users only (403, about no org, so not audited).
    add(
        "GET",
        "/api/user/tokens",
        case("/api/user/tokens", Who::OrgMemberToken, None, 403),
    );
    add(
        "POST",
        "/api/user/tokens",
        case(
            "/api/user/tokens",
            Who::TeamToken,
            Some(json!({"description": "x", "expires": 0})),
            403,
        ),
    );
    add(
        "DELETE",
        "/api/user/tokens/{tokenId}",
        case(
            format!("/api/user/tokens/{}", a.admin.token_id),
            Who::OrgAdminToken,
            None,
            403,
        ),
    );

    // The org.
    add(
        "GET",
        "/api/orgs/{org}",
        case("/api/orgs/acme", Who::Outsider, None, 404),
    );
    add(
        "PATCH",
        "/api/orgs/{org}",
        refused(
            "/api/orgs/acme",
            Who::Member,
            Some(json!({"setMembersCanCreateTeams": false})),
            ROLE,
        ),
    );

    // Members.
    add(
        "GET",
        "/api/orgs/{org}/members",
        case("/api/orgs/acme/members", Who::OtherOrgToken, None, 404),
    );
    add(
        "POST",
        "/api/orgs/{org}/members/{login}",
        refused(
            "/api/orgs/acme/members/erin",
            Who::OrgMemberToken,
            Some(json!({"role": "member"})),
            ROLE,
        ),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/members/{login}",
        refused(
            "/api/orgs/acme/members/bob",
            Who::TeamAdmin,
            Some(json!({"role": "admin"})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/members/{login}",
        refused("/api/orgs/acme/members/bob", Who::Billing, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/members/{login}/teams",
        case(
            "/api/orgs/acme/members/dave/teams",
            Who::Outsider,
            None,
            404,
        ),
    );

    // Teams.
    add(
        "GET",
        "/api/orgs/{org}/teams",
        case("/api/orgs/acme/teams", Who::OtherOrgToken, None, 404),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/pulumi",
        refused(
            "/api/orgs/acme/teams/pulumi",
            Who::TeamToken,
            Some(json!({"name": "ops", "displayName": "Ops", "description": ""})),
            ROLE,
        ),
    );
    // The team named "pulumi" (made by the test), through its own handlers.
    add(
        "GET",
        "/api/orgs/{org}/teams/pulumi",
        case(PULUMI_TEAM, Who::Outsider, None, 404),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/teams/pulumi",
        refused(
            PULUMI_TEAM,
            Who::Member,
            Some(json!({"memberAction": "add", "member": "carol"})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/pulumi",
        refused(PULUMI_TEAM, Who::TeamToken, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/teams/{team}",
        case("/api/orgs/acme/teams/devs", Who::Outsider, None, 404),
    );
    add(
        "PATCH",
        "/api/orgs/{org}/teams/{team}",
        refused(
            "/api/orgs/acme/teams/devs",
            Who::Member,
            Some(json!({"memberAction": "add", "member": "carol"})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}",
        refused("/api/orgs/acme/teams/devs", Who::TeamToken, None, ROLE),
    );

    // Team tokens.
    add(
        "GET",
        "/api/orgs/{org}/teams/{team}/tokens",
        refused(
            "/api/orgs/acme/teams/devs/tokens",
            Who::OrgMemberToken,
            None,
            ROLE,
        ),
    );
    add(
        "POST",
        "/api/orgs/{org}/teams/{team}/tokens",
        refused(
            "/api/orgs/acme/teams/devs/tokens",
            Who::Member,
            Some(json!({"name": "sneaky", "description": "", "expires": 0})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/teams/{team}/tokens/{tokenId}",
        refused(
            format!("/api/orgs/acme/teams/devs/tokens/{}", a.team_token.id),
            Who::Billing,
            None,
            ROLE,
        ),
    );

    // Org tokens: an admin-scope org token may list them but never create or delete.
    add(
        "GET",
        "/api/orgs/{org}/tokens",
        refused("/api/orgs/acme/tokens", Who::Member, None, ROLE),
    );
    add(
        "POST",
        "/api/orgs/{org}/tokens",
        refused(
            "/api/orgs/acme/tokens",
            Who::OrgAdminToken,
            Some(json!({"name": "escalate", "description": "", "admin": true, "expires": 0})),
            ROLE,
        ),
    );
    add(
        "DELETE",
        "/api/orgs/{org}/tokens/{tokenId}",
        refused(
            format!("/api/orgs/acme/tokens/{}", a.org_member_token.id),
            Who::OrgAdminToken,
            None,
            ROLE,
        ),
    );

    // Audit log.
    add(
        "GET",
        "/api/orgs/{org}/auditlogs",
        refused("/api/orgs/acme/auditlogs", Who::Member, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/v2",
        refused("/api/orgs/acme/auditlogs/v2", Who::TeamToken, None, ROLE),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/event-types",
        refused(
            "/api/orgs/acme/auditlogs/event-types",
            Who::Billing,
            None,
            ROLE,
        ),
    );

    add(
        "GET",
        "/api/orgs/{org}/auditlogs/export",
        refused(
            "/api/orgs/acme/auditlogs/export?format=csv",
            Who::Member,
            None,
            ROLE,
        ),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/v2/export",
        refused(
            "/api/orgs/acme/auditlogs/v2/export?format=cef",
            Who::OrgMemberToken,
            None,
            ROLE,
        ),
    );
    add(
        "GET",
        "/api/orgs/{org}/auditlogs/verify",
        refused(
            "/api/orgs/acme/auditlogs/verify",
            Who::TeamToken,
            None,
            ROLE,
        ),
    );

    // Stacks.
    add(
        "POST",
        "/api/orgs/{org}/bulk-transfer/stacks",
        refused(
            "/api/orgs/acme/bulk-transfer/stacks",
            Who::OrgMemberToken,
            Some(json!({"fromOrg": "acme", "toOrg": "globex"})),
            ROLE,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}",
        refused(
            "/api/stacks/acme/proj",
            Who::TeamToken,
            Some(json!({"stackName": "new"})),
            ROLE,
        ),
    );
    add(
        "HEAD",
        "/api/stacks/{org}/{project}",
        case("/api/stacks/acme/proj", Who::Outsider, None, 404),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}",
        case(stack, Who::OtherOrgToken, None, 404),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}",
        // The team holds write, delete needs admin.
        refused(stack, Who::TeamToken, None, STACK_PERM),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/transfer",
        // bob reads the stack (org default 101) but holds no admin on it.
        refused(
            format!("{stack}/transfer"),
            Who::Member,
            Some(json!({"toOrg": "globex"})),
            STACK_PERM,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/rename",
        // bob reads the stack (org default 101) but holds no admin on it.
        refused(
            format!("{stack}/rename"),
            Who::Member,
            Some(json!({"newName": "renamed"})),
            STACK_PERM,
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/tags",
        // Billing managers see no stacks.
        case(
            format!("{stack}/tags"),
            Who::Billing,
            Some(json!({"env": "prod"})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/tags",
        refused(
            format!("{stack}/tags"),
            Who::OrgMemberToken,
            Some(json!({"name": "owner", "value": "ci"})),
            STACK_PERM,
        ),
    );
    add(
        "DELETE",
        "/api/stacks/{org}/{project}/{stack}/tags/{tag}",
        refused(format!("{stack}/tags/env"), Who::Member, None, STACK_PERM),
    );
    // The state backend. Lease calls take `Authorization: update-token <lease>`: a lease
    // no one was handed out (or an access token in its place) is 401 and recorded nowhere.
    let update = format!("{stack}/update/{update_id}");
    let bogus_lease = lease("0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de");
    let deployment: Value = serde_json::from_str(ONE_RESOURCE).expect("the deployment is JSON");
    let checkpoint: Value =
        serde_json::from_slice(&checkpoint_body(ONE_RESOURCE)).expect("the checkpoint is JSON");
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/update",
        // bob reads the stack (org default 101); an update needs write.
        refused(
            format!("{stack}/update"),
            Who::Member,
            Some(update_request(false)),
            STACK_PERM,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/preview",
        // A preview needs read only: billing managers see no stacks.
        case(
            format!("{stack}/preview"),
            Who::Billing,
            Some(update_request(true)),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/refresh",
        // A member-scope org token reads (org default) but may not refresh.
        refused(
            format!("{stack}/refresh"),
            Who::OrgMemberToken,
            Some(update_request(false)),
            STACK_PERM,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/destroy",
        case(
            format!("{stack}/destroy"),
            Who::Outsider,
            Some(update_request(false)),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
        // Starting the admin's update takes write, which bob lacks.
        refused(
            update.clone(),
            Who::Member,
            Some(json!({"tags": {}})),
            STACK_PERM,
        ),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}",
        case(update.clone(), Who::Billing, None, 404),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events",
        case(format!("{update}/events"), Who::OtherOrgToken, None, 404),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/cancel",
        refused(
            format!("{update}/cancel"),
            Who::OrgMemberToken,
            None,
            STACK_PERM,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/renew_lease",
        case(
            format!("{update}/renew_lease"),
            bogus_lease.clone(),
            Some(json!({"duration": 300})),
            401,
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpoint",
        case(
            format!("{update}/checkpoint"),
            bogus_lease.clone(),
            Some(checkpoint),
            401,
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointverbatim",
        case(
            format!("{update}/checkpointverbatim"),
            bogus_lease.clone(),
            Some(json!({
                "version": 3,
                "sequenceNumber": 1,
                "untypedDeployment": {"version": 3, "deployment": deployment},
            })),
            401,
        ),
    );
    add(
        "PATCH",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/checkpointdelta",
        case(
            format!("{update}/checkpointdelta"),
            bogus_lease.clone(),
            Some(json!({
                "version": 3,
                "sequenceNumber": 2,
                "checkpointHash": "00",
                "deploymentDelta": [],
            })),
            401,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/events/batch",
        case(
            format!("{update}/events/batch"),
            bogus_lease,
            Some(
                json!({"events": [{"sequence": 1, "timestamp": 1, "stdoutEvent": {"message": "hi", "color": "never"}}]}),
            ),
            401,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/{kind}/{updateId}/complete",
        // An access token (even an org admin's) is not the update's lease.
        case(
            format!("{update}/complete"),
            Who::OrgAdminToken,
            Some(json!({"status": "succeeded"})),
            401,
        ),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/export",
        case(format!("{stack}/export"), Who::Billing, None, 404),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/export/{version}",
        case(format!("{stack}/export/1"), Who::Outsider, None, 404),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/import",
        // Importing replaces the state: write, which bob lacks.
        refused(
            format!("{stack}/import"),
            Who::Member,
            Some(json!({"version": 3, "deployment": deployment})),
            STACK_PERM,
        ),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/updates",
        case(format!("{stack}/updates"), Who::OtherOrgToken, None, 404),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/updates/{version}",
        case(format!("{stack}/updates/latest"), Who::Billing, None, 404),
    );
    // Secrets take read on the stack: only who cannot see it is refused.
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/encrypt",
        case(
            format!("{stack}/encrypt"),
            Who::Billing,
            Some(json!({"plaintext": "c2VjcmV0"})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt",
        case(
            format!("{stack}/decrypt"),
            Who::Outsider,
            Some(json!({"ciphertext": "c2VjcmV0"})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-encrypt",
        case(
            format!("{stack}/batch-encrypt"),
            Who::OtherOrgToken,
            Some(json!({"plaintexts": ["c2VjcmV0"]})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/batch-decrypt",
        case(
            format!("{stack}/batch-decrypt"),
            Who::Billing,
            Some(json!({"ciphertexts": ["c2VjcmV0"]})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt/log-decryption",
        case(
            format!("{stack}/decrypt/log-decryption"),
            Who::Outsider,
            Some(json!({"commandName": "pulumi stack output"})),
            404,
        ),
    );
    add(
        "POST",
        "/api/stacks/{org}/{project}/{stack}/decrypt/log-batch-decryption",
        case(
            format!("{stack}/decrypt/log-batch-decryption"),
            Who::Billing,
            Some(json!({"commandName": "pulumi stack export"})),
            404,
        ),
    );
    add(
        "GET",
        "/api/stacks/{org}/{project}/{stack}/teams",
        case(format!("{stack}/teams"), Who::Billing, None, 404),
    );
    add(
        "PATCH",
        "/api/console/stacks/{org}/{project}/{stack}/teams/{team}",
        // dave: team admin of devs, which holds write on the stack; needs stack admin.
        refused(
            "/api/console/stacks/acme/proj/dev/teams/devs",
            Who::TeamAdmin,
            Some(json!({"permissions": 103})),
            STACK_PERM,
        ),
    );
    add(
        "GET",
        "/api/console/orgs/{org}/members/{login}/stacks/{project}/{stack}",
        // bob reads the stack (org default) but asking about another member takes stack admin.
        refused(
            "/api/console/orgs/acme/members/dave/stacks/proj/dev",
            Who::Member,
            None,
            STACK_PERM,
        ),
    );
    m
}
