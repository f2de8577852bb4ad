//! What a handler's extractors say about its request, read from the handler's type.
//!
//! axum implements `Handler<(M, T1, .., Tn), S>` for an async fn whose arguments are the
//! extractors `T1..Tn` (and `Handler<((),), S>` for one without arguments). The route
//! table asks for [`DescribeArgs`] on that tuple, so each route's authentication, JSON
//! body and query parameters are documented from the very types that parse them: a
//! handler that starts taking a body or a query changes its document with it.

use axum::extract::{Path, State};
use serde_json::{json, Value};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{ApiJson, ApiQuery, Auth, LeaseAuth, StateBody};

/// How a route authenticates its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authn {
    /// `Authorization: token <value>`: a personal, team or organization token.
    Token,
    /// `Authorization: update-token <lease>`: the lease of a running update.
    Lease,
}

/// A request body's schema: the schema itself, and the named schemas it refers to.
#[derive(Clone, Debug)]
pub struct BodySchema {
    pub schema: Value,
    pub components: Vec<(String, Value)>,
}

/// The request side of one route, as its extractors describe it.
#[derive(Clone, Debug, Default)]
pub struct RequestDoc {
    pub authn: Option<Authn>,
    /// A JSON body (read with the API-wide 1 MiB limit unless `state_body`).
    pub body: Option<BodySchema>,
    /// The body is read by [`StateBody`]: the state limit applies, gzip is accepted.
    pub state_body: bool,
    /// Query parameters, as OpenAPI parameter objects.
    pub query: Vec<Value>,
}

/// One extractor's part of a request's description.
pub trait Describe {
    fn describe(request: &mut RequestDoc);
}

/// A handler's whole argument list (see the module documentation).
pub trait DescribeArgs {
    fn describe(request: &mut RequestDoc);
}

impl DescribeArgs for ((),) {
    fn describe(_: &mut RequestDoc) {}
}

macro_rules! describe_args {
    ($($t:ident),+) => {
        impl<M, $($t: Describe),+> DescribeArgs for (M, $($t,)+) {
            fn describe(request: &mut RequestDoc) {
                $($t::describe(request);)+
            }
        }
    };
}

describe_args!(T1);
describe_args!(T1, T2);
describe_args!(T1, T2, T3);
describe_args!(T1, T2, T3, T4);
describe_args!(T1, T2, T3, T4, T5);

impl Describe for Auth {
    fn describe(request: &mut RequestDoc) {
        request.authn = Some(Authn::Token);
    }
}

impl Describe for LeaseAuth {
    fn describe(request: &mut RequestDoc) {
        request.authn = Some(Authn::Lease);
    }
}

/// Path parameters are documented from the route's template, where their names are.
impl<T> Describe for Path<T> {
    fn describe(_: &mut RequestDoc) {}
}

impl<S> Describe for State<S> {
    fn describe(_: &mut RequestDoc) {}
}

impl<T: ToSchema> Describe for ApiJson<T> {
    fn describe(request: &mut RequestDoc) {
        let mut body = body_schema::<T>();
        // `ApiJson` refuses anything but a JSON object, whatever `T` would accept.
        if let Some(schema) = body.schema.as_object_mut() {
            if !schema.contains_key("type") && !schema.contains_key("$ref") {
                schema.insert("type".into(), json!("object"));
            }
        }
        request.body = Some(body);
    }
}

impl<Q: IntoParams> Describe for ApiQuery<Q> {
    fn describe(request: &mut RequestDoc) {
        request.query = Q::into_params(|| Some(ParameterIn::Query))
            .iter()
            .map(to_json)
            .collect();
    }
}

/// A state body's JSON is parsed by the handler (a deployment, a checkpoint, engine
/// events), so it is an object here unless the route names its type
/// ([`crate::Route`]'s `state_body`).
impl Describe for StateBody {
    fn describe(request: &mut RequestDoc) {
        request.state_body = true;
        if request.body.is_none() {
            request.body = Some(BodySchema {
                schema: json!({"type": "object"}),
                components: Vec::new(),
            });
        }
    }
}

/// The schema of `T` and of the named schemas it refers to.
pub fn body_schema<T: ToSchema>() -> BodySchema {
    let mut nested: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut nested);
    BodySchema {
        schema: to_json(&T::schema()),
        components: nested
            .iter()
            .map(|(n, s)| (n.clone(), to_json(s)))
            .collect(),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    // utoipa's model types serialise to JSON without fail (plain data, string keys).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Pulumi's stack permission codes, for request fields of `StackPermission`
/// (which serde reads from the code).
pub fn stack_permission() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([0, 101, 102, 103, 104]))
        .description(Some(
            "0 none, 101 read, 102 write, 103 admin, 104 creator (counts as admin)",
        ))
        .build()
}

/// Standard base64 with padding, as the secrets routes decode it.
pub const BASE64_PATTERN: &str = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

/// A base64 string, for the items of request lists the handlers decode as base64.
pub struct Base64;

impl utoipa::PartialSchema for Base64 {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(BASE64_PATTERN))
            .into()
    }
}

impl ToSchema for Base64 {}
