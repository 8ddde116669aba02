//! The axum router and server.
//!
//! Each handler parses its path or body, calls the [`ApiBackend`] and returns JSON. Backend
//! reads are synchronous and may hit RocksDB, so they run on tokio's blocking pool. Every
//! failure, including an unknown route or method, is an [`ErrorBody`] with a 4xx or 5xx
//! status. Requests pass through three layers, outermost first: a debug log line per
//! request, a timeout, and the body size limit.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::backend::ApiBackend;
use crate::error::{parse_hash, parse_height, ApiError, BodyLimit, JsonBody, PathParam};
use crate::openapi::ApiDoc;
use crate::types::{
    AnchorView, BlockView, ErrorBody, HealthStatus, MembersView, NodeStatus, SubmitRequest, SubmitResponse,
    TransactionStatus,
};

/// Content type of `GET /metrics`: the OpenMetrics text format that `prometheus-client`
/// writes.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Limits of the HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes. Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Maximum time one request may take, from routing to response, including reading the
    /// body. Slower requests get 503.
    pub request_timeout: Duration,
}

impl Default for ServerConfig {
    /// 4 MiB bodies, the default of `api.max_body_bytes` in the node file, and a 10 s timeout.
    fn default() -> Self {
        ServerConfig { max_body_bytes: 4 * 1024 * 1024, request_timeout: Duration::from_secs(10) }
    }
}

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState<B> {
    backend: B,
    max_body_bytes: usize,
}

impl<B: Send + Sync> BodyLimit for AppState<B> {
    fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

/// Builds the router with every route, the JSON fallbacks and the request layers.
pub fn router<B: ApiBackend>(backend: B, config: &ServerConfig) -> Router {
    let state = AppState { backend, max_body_bytes: config.max_body_bytes };
    let timeout = config.request_timeout;

    Router::new()
        .route("/v1/transactions", post(submit_transaction::<B>))
        .route("/v1/transactions/{id}", get(get_transaction::<B>))
        .route("/v1/anchors/{commitment}", get(get_anchor::<B>))
        .route("/v1/blocks/latest", get(get_latest_block::<B>))
        .route("/v1/blocks/{height}", get(get_block::<B>))
        .route("/v1/status", get(get_status::<B>))
        .route("/v1/members", get(get_members::<B>))
        .route("/metrics", get(get_metrics::<B>))
        .route("/health", get(get_health::<B>))
        .route("/openapi.json", get(get_openapi))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| enforce_timeout(timeout, request, next)))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then waits for in-flight
/// requests to finish. Each of them is bounded by `config.request_timeout`.
pub async fn serve<B: ApiBackend>(
    listener: tokio::net::TcpListener,
    backend: B,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let app = router(backend, &config);
    tracing::info!(target: "hashbridge::api", %address, max_body_bytes = config.max_body_bytes, "http api listening");

    // NOTE: axum 0.8's `serve` sets no header read timeout, so a client that opens a
    // connection and never finishes its headers keeps it open until it disconnects.
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    tracing::info!(target: "hashbridge::api", %address, "http api stopped");
    Ok(())
}

/// Runs a synchronous backend read on the blocking pool.
async fn run_blocking<B, T, F>(backend: &B, read: F) -> Result<T, ApiError>
where
    B: ApiBackend,
    T: Send + 'static,
    F: FnOnce(&B) -> T + Send + 'static,
{
    let backend = backend.clone();
    tokio::task::spawn_blocking(move || read(&backend))
        .await
        .map_err(|error| ApiError::internal(format!("backend read failed: {error}")))
}

/// Submits a signed transaction to the node's mempool.
#[utoipa::path(
    post,
    path = "/v1/transactions",
    tag = "transactions",
    request_body = SubmitRequest,
    responses(
        (status = 202, description = "Accepted into the mempool; poll the transaction status for the outcome", body = SubmitResponse),
        (status = 400, description = "Malformed JSON, an unknown field or a transaction that fails a check", body = ErrorBody),
        (status = 409, description = "The transaction conflicts with chain state, such as already committed", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's limit", body = ErrorBody),
        (status = 415, description = "The content type is not application/json", body = ErrorBody),
        (status = 503, description = "The node cannot take more work now, such as a full mempool", body = ErrorBody),
    )
)]
pub async fn submit_transaction<B: ApiBackend>(
    State(state): State<AppState<B>>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let response = state.backend.submit(request.transaction).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// Returns the state of a transaction: pending, committed, rejected, expired or unknown.
#[utoipa::path(
    get,
    path = "/v1/transactions/{id}",
    tag = "transactions",
    params(("id" = String, Path, description = "Transaction id: 64 hex digits in any case, optionally prefixed with `0x` or `sha256:`")),
    responses(
        (status = 200, description = "The transaction's state; `unknown` if this node has never seen it", body = TransactionStatus),
        (status = 400, description = "The id is not 64 hex digits", body = ErrorBody),
    )
)]
pub async fn get_transaction<B: ApiBackend>(
    State(state): State<AppState<B>>,
    PathParam(raw_id): PathParam<String>,
) -> Result<Json<TransactionStatus>, ApiError> {
    let id = parse_hash("transaction id", &raw_id)?;
    let status = run_blocking(&state.backend, move |backend| backend.transaction_status(&id)).await??;
    Ok(Json(status))
}

/// Returns an anchored commitment with its issuer, status and receipt.
#[utoipa::path(
    get,
    path = "/v1/anchors/{commitment}",
    tag = "anchors",
    params(("commitment" = String, Path, description = "Report commitment: 64 hex digits in any case, optionally prefixed with `0x` or `sha256:`")),
    responses(
        (status = 200, description = "The commitment is anchored; `status` is valid as of `as_of_height`", body = AnchorView),
        (status = 400, description = "The commitment is not 64 hex digits", body = ErrorBody),
        (status = 404, description = "The commitment is not anchored as of the height named in the message", body = ErrorBody),
    )
)]
pub async fn get_anchor<B: ApiBackend>(
    State(state): State<AppState<B>>,
    PathParam(raw_commitment): PathParam<String>,
) -> Result<Json<AnchorView>, ApiError> {
    let commitment = parse_hash("commitment", &raw_commitment)?;

    // The height is read before the lookup. Anchors are never removed, so a commitment
    // missing from the later lookup was also missing at this height.
    let (height, anchor) = run_blocking(&state.backend, move |backend| {
        let height = backend.status().height;
        backend.anchor(&commitment).map(|anchor| (height, anchor))
    })
    .await??;

    anchor.map(Json).ok_or_else(|| {
        ApiError::not_found(
            "not_anchored",
            format!("commitment {commitment} is not anchored on chain as of height {height}"),
        )
    })
}

/// Returns the block at a height with its certificate and transaction results.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    tag = "blocks",
    params(("height" = u64, Path, description = "Block height as a decimal number")),
    responses(
        (status = 200, description = "The committed block", body = BlockView),
        (status = 400, description = "The height is not a decimal number that fits in 64 bits", body = ErrorBody),
        (status = 404, description = "No block is committed at this height yet", body = ErrorBody),
    )
)]
pub async fn get_block<B: ApiBackend>(
    State(state): State<AppState<B>>,
    PathParam(raw_height): PathParam<String>,
) -> Result<Json<BlockView>, ApiError> {
    let height = parse_height(&raw_height)?;
    let (head, block) = run_blocking(&state.backend, move |backend| {
        let head = backend.status().height;
        backend.block(height).map(|block| (head, block))
    })
    .await??;

    block.map(Json).ok_or_else(|| {
        ApiError::not_found("block_not_found", format!("no block at height {height}; the committed height is {head}"))
    })
}

/// Returns the block at the node's committed height.
#[utoipa::path(
    get,
    path = "/v1/blocks/latest",
    tag = "blocks",
    responses(
        (status = 200, description = "The last committed block", body = BlockView),
        (status = 404, description = "No block is committed yet", body = ErrorBody),
    )
)]
pub async fn get_latest_block<B: ApiBackend>(State(state): State<AppState<B>>) -> Result<Json<BlockView>, ApiError> {
    let (head, block) = run_blocking(&state.backend, |backend| {
        let head = backend.status().height;
        backend.block(head).map(|block| (head, block))
    })
    .await??;

    block.map(Json).ok_or_else(|| {
        ApiError::not_found("block_not_found", format!("no block is stored at the committed height {head}"))
    })
}

/// Returns the node's chain, role, height, view, peers and sync state.
#[utoipa::path(get, path = "/v1/status", tag = "node", responses((status = 200, body = NodeStatus)))]
pub async fn get_status<B: ApiBackend>(State(state): State<AppState<B>>) -> Result<Json<NodeStatus>, ApiError> {
    let status = run_blocking(&state.backend, |backend| backend.status()).await?;
    Ok(Json(status))
}

/// Returns the validators and observers with their weights and the quorum.
#[utoipa::path(get, path = "/v1/members", tag = "node", responses((status = 200, body = MembersView)))]
pub async fn get_members<B: ApiBackend>(State(state): State<AppState<B>>) -> Result<Json<MembersView>, ApiError> {
    let members = run_blocking(&state.backend, |backend| backend.members()).await?;
    Ok(Json(members))
}

/// Returns the node's metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "node",
    responses((status = 200, description = "OpenMetrics text, which Prometheus scrapes", content_type = "application/openmetrics-text", body = String))
)]
pub async fn get_metrics<B: ApiBackend>(State(state): State<AppState<B>>) -> Result<Response, ApiError> {
    let text = run_blocking(&state.backend, |backend| backend.metrics()).await?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response())
}

/// Returns 200 while the node is up and its store readable, 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "node",
    responses(
        (status = 200, description = "The node is healthy", body = HealthStatus),
        (status = 503, description = "The node is starting, stopping or cannot read its store", body = ErrorBody),
    )
)]
pub async fn get_health<B: ApiBackend>(State(state): State<AppState<B>>) -> Result<Json<HealthStatus>, ApiError> {
    let healthy = run_blocking(&state.backend, |backend| backend.healthy()).await?;
    if !healthy {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unhealthy",
            "node is unhealthy: it is starting, stopping or cannot read its store; see the node log",
        ));
    }
    Ok(Json(HealthStatus { status: "ok".to_string() }))
}

/// Returns this API's OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "node",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn get_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn route_not_found(request: Request) -> ApiError {
    ApiError::not_found(
        "route_not_found",
        format!("no route for {} {}; see /openapi.json for the routes", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "method {} is not allowed on {}; see /openapi.json for the routes",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Fails a request with 503 when it takes longer than `timeout`.
async fn enforce_timeout(timeout: Duration, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();

    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(target: "hashbridge::api", %method, %path, timeout_ms = timeout.as_millis(), "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("request timed out after {} ms; retry later", timeout.as_millis()),
            )
            .into_response()
        }
    }
}

/// Logs each request at debug level once its response is ready.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();

    let response = next.run(request).await;
    tracing::debug!(
        target: "hashbridge::api",
        %method,
        %path,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
