//! The audit event catalogue: every event stackgate writes, with Pulumi's ids and flags.
//!
//! Events are a closed enum so a service cannot write an id that the catalogue endpoint
//! does not list. Ids are Pulumi's kebab-case ones; the few Pulumi has no event for are
//! marked `[ours]` where they are defined. Each carries Pulumi's flags: whether it needs
//! org admin or stack admin, and whether it records an authentication failure.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OrganizationSettingsChanged,
    TeamCreated,
    TeamUpdated,
    TeamDeleted,
    OrganizationTokenCreated,
    OrganizationTokenDeleted,
    TeamTokenCreated,
    TeamTokenDeleted,
    PersonalTokenCreated,
    PersonalTokenDeleted,
    UserPasswordSet,
    UserLogin,
    UserLoginFailed,
    AuthFailureOrganizationRole,
    AuthFailureStackPermission,
    StackCreated,
    StackDeleted,
    StackRenamed,
    StackTransferredToOrganization,
    StackTagsChanged,
    StackTeamPermissionChanged,
    StackExported,
    StackImported,
    StackUpdateStarted,
    StackUpdateCompleted,
    StackUpdateCanceled,
    SecretDecrypted,
    AuditLogExported,
    AuditLogPruned,
    /// [ours] The secrets master key was rotated (every stack key re-wrapped).
    SecretsMasterKeyRotated,
}

/// One catalogue row.
pub struct EventInfo {
    pub id: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub requires_org_admin: bool,
    pub requires_stack_admin: bool,
    pub authentication_failure: bool,
}

const fn row(
    id: &'static str,
    display_name: &'static str,
    description: &'static str,
    (requires_org_admin, requires_stack_admin, authentication_failure): (bool, bool, bool),
) -> EventInfo {
    EventInfo {
        id,
        display_name,
        description,
        requires_org_admin,
        requires_stack_admin,
        authentication_failure,
    }
}

const OA: (bool, bool, bool) = (true, false, false);
const SA: (bool, bool, bool) = (false, true, false);
const AF: (bool, bool, bool) = (false, false, true);
const NONE: (bool, bool, bool) = (false, false, false);

impl EventType {
    pub const ALL: [EventType; 33] = [
        EventType::MemberAdded,
        EventType::MemberRemoved,
        EventType::MemberRoleChanged,
        EventType::OrganizationSettingsChanged,
        EventType::TeamCreated,
        EventType::TeamUpdated,
        EventType::TeamDeleted,
        EventType::OrganizationTokenCreated,
        EventType::OrganizationTokenDeleted,
        EventType::TeamTokenCreated,
        EventType::TeamTokenDeleted,
        EventType::PersonalTokenCreated,
        EventType::PersonalTokenDeleted,
        EventType::UserPasswordSet,
        EventType::UserLogin,
        EventType::UserLoginFailed,
        EventType::AuthFailureOrganizationRole,
        EventType::AuthFailureStackPermission,
        EventType::StackCreated,
        EventType::StackDeleted,
        EventType::StackRenamed,
        EventType::StackTransferredToOrganization,
        EventType::StackTagsChanged,
        EventType::StackTeamPermissionChanged,
        EventType::StackExported,
        EventType::StackImported,
        EventType::StackUpdateStarted,
        EventType::StackUpdateCompleted,
        EventType::StackUpdateCanceled,
        EventType::SecretDecrypted,
        EventType::AuditLogExported,
        EventType::AuditLogPruned,
        EventType::SecretsMasterKeyRotated,
    ];

    pub fn info(self) -> EventInfo {
        use EventType::*;
        match self {
            MemberAdded => row(
                "member-added",
                "Member Added",
                "A user joined the organization.",
                OA,
            ),
            MemberRemoved => row(
                "member-removed",
                "Member Removed",
                "A user left or was removed from the organization.",
                OA,
            ),
            MemberRoleChanged => row(
                "member-role-changed",
                "Member Role Changed",
                "A member's organization role changed.",
                OA,
            ),
            OrganizationSettingsChanged => row(
                "organization-settings-changed",
                "Organization Settings Changed",
                "An organization setting changed.",
                OA,
            ),
            TeamCreated => row("team-created", "Team Created", "A team was created.", OA),
            TeamUpdated => row(
                "team-updated",
                "Team Updated",
                "A team's details, membership or stack grants changed.",
                OA,
            ),
            TeamDeleted => row("team-deleted", "Team Deleted", "A team was deleted.", OA),
            OrganizationTokenCreated => row(
                "organization-token-created",
                "Organization Token Created",
                "An organization access token was created.",
                OA,
            ),
            OrganizationTokenDeleted => row(
                "organization-token-deleted",
                "Organization Token Deleted",
                "An organization access token was deleted.",
                OA,
            ),
            TeamTokenCreated => row(
                "team-token-created",
                "Team Token Created",
                "A team access token was created.",
                OA,
            ),
            TeamTokenDeleted => row(
                "team-token-deleted",
                "Team Token Deleted",
                "A team access token was deleted.",
                OA,
            ),
            PersonalTokenCreated => row(
                "personal-token-created",
                "Personal Token Created",
                "A member created a personal access token.",
                NONE,
            ),
            PersonalTokenDeleted => row(
                "personal-token-deleted",
                "Personal Token Deleted",
                "A member deleted a personal access token.",
                NONE,
            ),
            UserPasswordSet => row(
                "user-password-set",
                "User Password Set",
                "An operator set a user's console password; the user's sessions were ended.",
                NONE,
            ),
            UserLogin => row(
                "user-login",
                "User Login",
                "A user signed in to the console.",
                NONE,
            ),
            UserLoginFailed => row(
                "user-login-failed",
                "User Login Failed",
                "A sign-in or a request with an unknown, revoked or expired token failed.",
                NONE,
            ),
            AuthFailureOrganizationRole => row(
                "auth-failure-organization-role",
                "Authorization Failure (Organization Role)",
                "A principal lacked the organization role an action needs.",
                AF,
            ),
            AuthFailureStackPermission => row(
                "auth-failure-stack-permission",
                "Authorization Failure (Stack Permission)",
                "A principal lacked the stack permission an action needs.",
                AF,
            ),
            StackCreated => row(
                "stack-created",
                "Stack Created",
                "A stack was created.",
                NONE,
            ),
            StackDeleted => row("stack-deleted", "Stack Deleted", "A stack was deleted.", SA),
            StackRenamed => row(
                "stack-renamed",
                "Stack Renamed",
                "A stack was renamed (its project and/or name).",
                OA,
            ),
            StackTransferredToOrganization => row(
                "stack-transferred-to-organization",
                "Stack Transferred",
                "A stack was transferred between organizations.",
                OA,
            ),
            StackTagsChanged => row(
                "stack-tags-changed",
                "Stack Tags Changed",
                "A stack's tags were set or deleted.",
                NONE,
            ),
            StackTeamPermissionChanged => row(
                "stack-team-permission-changed",
                "Stack Team Permission Changed",
                "A team's permission on a stack changed through the stack.",
                OA,
            ),
            StackExported => row(
                "stack-exported",
                "Stack Exported",
                "A stack's state was exported.",
                NONE,
            ),
            StackImported => row(
                "stack-imported",
                "Stack Imported",
                "A state was imported into a stack.",
                NONE,
            ),
            StackUpdateStarted => row(
                "stack-update-started",
                "Stack Update Started",
                "An update, preview, refresh or destroy of a stack started.",
                NONE,
            ),
            StackUpdateCompleted => row(
                "stack-update-completed",
                "Stack Update Completed",
                "An update, preview, refresh or destroy of a stack ended (its result is in the description).",
                NONE,
            ),
            StackUpdateCanceled => row(
                "stack-update-canceled",
                "Stack Update Canceled",
                "An update of a stack was canceled.",
                NONE,
            ),
            SecretDecrypted => row(
                "secret-decrypted",
                "Secret Decrypted",
                "Secrets of a stack were shown in plaintext (for example `pulumi stack output --show-secrets`).",
                NONE,
            ),
            AuditLogExported => row(
                "audit-log-exported",
                "Audit Log Exported",
                "The organization's audit log was exported.",
                OA,
            ),
            AuditLogPruned => row(
                "audit-log-pruned",
                "Audit Log Pruned",
                "Retention removed old audit events; the hash of the last one removed is kept.",
                OA,
            ),
            SecretsMasterKeyRotated => row(
                "secrets-master-key-rotated",
                "Secrets Master Key Rotated",
                "The installation's secrets master key was rotated: every stack's key was re-wrapped.",
                OA,
            ),
        }
    }

    pub fn id(self) -> &'static str {
        self.info().id
    }

    pub fn from_id(id: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|e| e.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for e in EventType::ALL {
            let id = e.id();
            assert!(seen.insert(id), "duplicate id {id}");
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            assert_eq!(EventType::from_id(id), Some(e));
        }
    }

    #[test]
    fn auth_failures_are_flagged() {
        assert!(
            EventType::AuthFailureOrganizationRole
                .info()
                .authentication_failure
        );
        assert!(
            EventType::AuthFailureStackPermission
                .info()
                .authentication_failure
        );
        assert!(!EventType::StackCreated.info().authentication_failure);
        assert!(EventType::StackDeleted.info().requires_stack_admin);
        assert!(EventType::MemberAdded.info().requires_org_admin);
    }
}
