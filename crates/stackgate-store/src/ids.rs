//! Typed identifiers. Every record's id is a UUID string in the database, but an org id
//! is not a user id: the types keep a `membership(org, user)` from being called with its
//! arguments swapped, and a team id from being looked up as a stack.
//!
//! With the `sqlx` feature (enabled by the SQL backends) each id binds and decodes as the
//! text it is stored as.
//!
//! Swapping two ids no longer compiles:
//!
//! ```compile_fail
//! use stackgate_store::{OrgId, UserId};
//! fn membership(_org: &OrgId, _user: &UserId) {}
//! let (org, user) = (OrgId::new("o-1"), UserId::new("u-1"));
//! membership(&user, &org); // expected `&OrgId`, found `&UserId`
//! ```
//!
//! ```
//! use stackgate_store::{OrgId, UserId};
//! fn membership(_org: &OrgId, _user: &UserId) {}
//! let (org, user) = (OrgId::new("o-1"), UserId::new("u-1"));
//! membership(&org, &user);
//! assert_eq!(org, "o-1");
//! ```

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(
    /// A user's id.
    UserId
);
id_type!(
    /// An organization's id.
    OrgId
);
id_type!(
    /// A team's id.
    TeamId
);
id_type!(
    /// A stack's id: stays the same when the stack is renamed or transferred.
    StackId
);
id_type!(
    /// An access token's id (never its value).
    TokenId
);
id_type!(
    /// One update (update, preview, refresh, destroy or import) of a stack.
    UpdateId
);
