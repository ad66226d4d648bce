//! IVR flows: `GET /api/v1/ivr/flows` (names and versions),
//! `GET /api/v1/ivr/flows/{name}` (source and version),
//! `PUT /api/v1/ivr/flows/{name}` (a new TOML source; admin token) and
//! `GET /api/v1/ivr/flows/{name}/svg` (the drawing, through Graphviz).
//!
//! A PUT goes through [`flows::activate`]: a flow with errors is answered
//! 422 with every diagnostic and the running version stays; calls in
//! progress keep the version they started with either way.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::{self, TenantQuery};
use crate::flows::{self, Activation};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::ivr::diagnostic::{Diagnostic, Severity};
use crate::ivr::{self, render};
use crate::store::IvrFlow;

/// A flow in the listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowSummary {
    pub name: String,
    pub version: i64,
    pub updated_at: i64,
}

/// One problem of a flow source.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticView {
    /// `error` (the flow is not used) or `warning`.
    pub severity: &'static str,
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, known for TOML syntax errors.
    pub column: Option<usize>,
    pub node: Option<String>,
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when the validator knows.
    pub hint: Option<String>,
    /// The whole diagnostic as `kefu ivr validate` prints it.
    pub text: String,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticView {
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            node: d.node.clone(),
            field: d.field.clone(),
            message: d.problem().to_owned(),
            hint: d.hint().map(str::to_owned),
            text: d.to_string(),
        }
    }
}

/// A flow saved by a PUT, with the warnings it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowSaved {
    #[serde(flatten)]
    pub flow: IvrFlow,
    pub warnings: Vec<DiagnosticView>,
}

/// The 422 problem of a flow with errors: every diagnostic.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowRejected {
    #[serde(flatten)]
    pub problem: Problem,
    pub diagnostics: Vec<DiagnosticView>,
}

impl IntoResponse for FlowRejected {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::UNPROCESSABLE_ENTITY, Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// The tenant's flows.
#[utoipa::path(get, path = "/api/v1/ivr/flows", tag = "ivr", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [FlowSummary]), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<FlowSummary>>, Problem> {
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let flows = state.store.ivr_flows(&tenant.id).await?;
    Ok(Json(
        flows
            .into_iter()
            .map(|f| FlowSummary {
                name: f.name,
                version: f.version,
                updated_at: f.updated_at,
            })
            .collect(),
    ))
}

/// One flow: its source and version.
#[utoipa::path(get, path = "/api/v1/ivr/flows/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name"), TenantQuery),
    responses((status = 200, body = IvrFlow), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<IvrFlow>, Problem> {
    Ok(Json(stored(&state, &caller, &name, &query).await?))
}

/// Installs a new version of a flow (admin token). The body is the TOML
/// source; a flow with errors is refused and the running version stays.
#[utoipa::path(put, path = "/api/v1/ivr/flows/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name"), TenantQuery),
    request_body(content = String, content_type = "application/toml", description = "the flow in kefu's IVR TOML language"),
    responses((status = 200, body = FlowSaved), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = FlowRejected)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    body: Bytes,
) -> Result<Json<FlowSaved>, Response> {
    let refuse = |problem: Problem| problem.into_response();
    scope::require_admin(&caller, "IVR flows").map_err(refuse)?;
    scope::object_name("flow", &name).map_err(refuse)?;
    let tenant = scope::tenant(&state, &caller, &query)
        .await
        .map_err(refuse)?;
    let source = std::str::from_utf8(&body).map_err(|_| {
        refuse(Problem::new(
            StatusCode::BAD_REQUEST,
            "the body must be the flow's TOML source in UTF-8",
        ))
    })?;
    let activation = flows::activate(&state.store, &tenant.id, &name, source)
        .await
        .map_err(|error| refuse(error.into()))?;
    match activation {
        Activation::Active { flow, warnings } => {
            tracing::info!(tenant = %tenant.name, flow = %name, version = flow.version, "IVR flow saved through the API");
            Ok(Json(FlowSaved {
                flow,
                warnings: warnings.iter().map(DiagnosticView::from).collect(),
            }))
        }
        Activation::Rejected { diagnostics } => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            let first = diagnostics
                .iter()
                .find(|d| d.is_error())
                .map_or_else(String::new, |d| format!("; first: {d}"));
            Err(FlowRejected {
                problem: Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "flow `{name}` has {errors} error(s) and was not activated; the previous version stays{first}"
                    ),
                ),
                diagnostics: diagnostics.iter().map(DiagnosticView::from).collect(),
            }
            .into_response())
        }
    }
}

/// The flow drawn as SVG (Graphviz `dot` must be installed).
#[utoipa::path(get, path = "/api/v1/ivr/flows/{name}/svg", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name"), TenantQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String),
        (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn svg(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Response, Problem> {
    let stored = stored(&state, &caller, &name, &query).await?;
    let checked = ivr::check(&format!("{name}.toml"), &stored.source);
    let flow = checked.flow.ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            format!(
                "flow `{name}` version {} does not validate; PUT a corrected source",
                stored.version
            ),
        )
    })?;
    let drawn = tokio::task::spawn_blocking(move || render::svg(&flow))
        .await
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "drawing the flow failed"))?;
    match drawn {
        Ok(svg) => Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            )],
            svg,
        )
            .into_response()),
        Err(error @ render::SvgError::DotMissing) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            error.to_string(),
        )),
        Err(error) => {
            tracing::error!(flow = %name, %error, "cannot draw the IVR flow");
            Err(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("drawing the flow failed: {error}"),
            ))
        }
    }
}

async fn stored(
    state: &AppState,
    caller: &Caller,
    name: &str,
    query: &TenantQuery,
) -> Result<IvrFlow, Problem> {
    scope::object_name("flow", name)?;
    let tenant = scope::tenant(state, caller, query).await?;
    state
        .store
        .ivr_flow(&tenant.id, name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no IVR flow named `{name}`")))
}
