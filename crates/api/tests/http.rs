//! The router served on a real loopback socket, exercised with a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::time::Duration;

use hashbridge_api::types::{
    AnchorView, BlockView, ErrorBody, MembersView, NodeStatus, SubmitResponse, TransactionState, TransactionStatus,
};
use hashbridge_api::{BackendError, ServerConfig};
use hashbridge_types::Hash32;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use support::{anchored_commitment, sample_transaction, TestServer, HEAD_HEIGHT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start() -> TestServer {
    TestServer::start(ServerConfig::default()).await
}

/// Reads an error response, checking that it is JSON with the expected status and code.
async fn expect_error(response: Response, status: StatusCode, code: &str) -> ErrorBody {
    assert_eq!(response.status(), status);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert_eq!(content_type, "application/json");
    let body: ErrorBody = response.json().await.unwrap();
    assert_eq!(body.error, code, "message: {}", body.message);
    body
}

fn submit_body(commitment: Hash32) -> Value {
    json!({ "transaction": sample_transaction(commitment) })
}

#[tokio::test]
async fn submit_returns_202_pending() {
    let server = start().await;
    let transaction = sample_transaction(Hash32([0x44; 32]));

    let response = Client::new()
        .post(server.url("/v1/transactions"))
        .json(&json!({ "transaction": transaction }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: SubmitResponse = response.json().await.unwrap();
    assert_eq!(body.transaction_id, transaction.id());
    assert_eq!(body.state, TransactionState::Pending);
    assert_eq!(server.backend.state.lock().unwrap().submitted, vec![transaction]);
}

#[tokio::test]
async fn submit_unknown_field_is_400() {
    let server = start().await;
    let mut body = submit_body(Hash32([0x44; 32]));
    body["transaction"]["payload"]["colour"] = json!("red");

    let response = Client::new().post(server.url("/v1/transactions")).json(&body).send().await.unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(error.message.contains("unknown field `colour`"), "{}", error.message);
    assert!(error.message.contains("transaction.payload"), "{}", error.message);
    assert!(error.message.contains("line 1"), "{}", error.message);
}

#[tokio::test]
async fn submit_top_level_unknown_field_is_400() {
    let server = start().await;
    let mut body = submit_body(Hash32([0x44; 32]));
    body["extra"] = json!(1);

    let response = Client::new().post(server.url("/v1/transactions")).json(&body).send().await.unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(error.message.contains("unknown field `extra`"), "{}", error.message);
}

#[tokio::test]
async fn submit_malformed_json_is_400() {
    let server = start().await;
    let response = Client::new()
        .post(server.url("/v1/transactions"))
        .header("content-type", "application/json")
        .body("{\"transaction\": \n{")
        .send()
        .await
        .unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(error.message.contains("line 2"), "{}", error.message);
}

#[tokio::test]
async fn submit_bad_hex_inside_body_is_400() {
    let server = start().await;
    let mut body = submit_body(Hash32([0x44; 32]));
    body["transaction"]["payload"]["action"]["commitment"] = json!("abcd");

    let response = Client::new().post(server.url("/v1/transactions")).json(&body).send().await.unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_body").await;
    assert!(error.message.contains("\"abcd\""), "{}", error.message);
    assert!(error.message.contains("expected 64 hex digits"), "{}", error.message);
}

#[tokio::test]
async fn submit_wrong_content_type_is_415() {
    let server = start().await;
    let body = submit_body(Hash32([0x44; 32])).to_string();

    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = Client::new().post(server.url("/v1/transactions")).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let error = expect_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
        assert!(error.message.contains("application/json"), "{}", error.message);
    }
}

#[tokio::test]
async fn submit_json_with_charset_is_accepted() {
    let server = start().await;
    let response = Client::new()
        .post(server.url("/v1/transactions"))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(submit_body(Hash32([0x45; 32])).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn submit_5_mib_body_is_413() {
    let server = start().await;
    let padding = "a".repeat(5 * 1024 * 1024);
    let body = format!("{{\"transaction\": \"{padding}\"}}");

    let response = Client::new()
        .post(server.url("/v1/transactions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();

    let error = expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    assert!(error.message.contains("4194304 bytes"), "{}", error.message);
}

/// A chunked body declares no length, so the limit applies while it is read.
#[tokio::test]
async fn submit_chunked_body_over_limit_is_413() {
    let server = TestServer::start(ServerConfig { max_body_bytes: 1024, ..ServerConfig::default() }).await;
    let address = server.base_url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();

    let chunk = "a".repeat(2048);
    let request = format!(
        "POST /v1/transactions HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\":\"body_too_large\""), "{answer}");
    assert!(answer.contains("1024 bytes"), "{answer}");
}

#[tokio::test]
async fn submit_backend_errors_map_to_statuses() {
    let server = start().await;
    let cases = [
        (
            BackendError::Invalid { code: "bad_signature", message: "signature is invalid".into() },
            StatusCode::BAD_REQUEST,
            "bad_signature",
        ),
        (
            BackendError::Conflict { code: "already_committed", message: "already committed".into() },
            StatusCode::CONFLICT,
            "already_committed",
        ),
        (
            BackendError::Unavailable { code: "mempool_full", message: "mempool is full".into() },
            StatusCode::SERVICE_UNAVAILABLE,
            "mempool_full",
        ),
        (
            BackendError::Internal { message: "storage read failed".into() },
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
        ),
    ];

    for (backend_error, status, code) in cases {
        let message = backend_error.to_string();
        server.backend.state.lock().unwrap().submit_error = Some(backend_error);
        let response = Client::new()
            .post(server.url("/v1/transactions"))
            .json(&submit_body(Hash32([0x46; 32])))
            .send()
            .await
            .unwrap();
        let error = expect_error(response, status, code).await;
        assert_eq!(error.message, message);
    }
}

#[tokio::test]
async fn slow_request_times_out_with_503() {
    let config = ServerConfig { request_timeout: Duration::from_millis(200), ..ServerConfig::default() };
    let server = TestServer::start(config).await;
    server.backend.state.lock().unwrap().submit_delay = Duration::from_secs(5);

    let response =
        Client::new().post(server.url("/v1/transactions")).json(&submit_body(Hash32([0x47; 32]))).send().await.unwrap();

    let error = expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "timeout").await;
    assert!(error.message.contains("200 ms"), "{}", error.message);
}

#[tokio::test]
async fn transaction_status_by_id() {
    let server = start().await;
    let id = sample_transaction(anchored_commitment()).id();

    let response = Client::new()
        .get(server.url(&format!("/v1/transactions/0x{}", id.to_hex().to_uppercase())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let status: TransactionStatus = response.json().await.unwrap();
    assert_eq!(status.transaction_id, id);
    assert_eq!(status.state, TransactionState::Committed);
    assert_eq!(status.height, Some(2));

    let unknown = Hash32([0x99; 32]);
    let response = Client::new().get(server.url(&format!("/v1/transactions/{unknown}"))).send().await.unwrap();
    let status: TransactionStatus = response.json().await.unwrap();
    assert_eq!(status.state, TransactionState::Unknown);
}

#[tokio::test]
async fn transaction_bad_id_is_400() {
    let server = start().await;
    let response = Client::new().get(server.url("/v1/transactions/xyz")).send().await.unwrap();
    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_hex").await;
    assert!(error.message.contains("transaction id"), "{}", error.message);
    assert!(error.message.contains("\"xyz\""), "{}", error.message);
}

#[tokio::test]
async fn anchor_found_in_any_hex_form() {
    let server = start().await;
    let commitment = anchored_commitment();
    let lower = commitment.to_hex();

    for form in [
        lower.clone(),
        lower.to_uppercase(),
        format!("0x{lower}"),
        format!("0X{}", lower.to_uppercase()),
        format!("sha256:{lower}"),
    ] {
        let response = Client::new().get(server.url(&format!("/v1/anchors/{form}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "form {form}");
        let text = response.text().await.unwrap();
        assert!(text.contains(&lower), "answer shows lowercase hex: {text}");
        let anchor: AnchorView = serde_json::from_str(&text).unwrap();
        assert_eq!(anchor.commitment, commitment, "form {form}");
        assert_eq!(anchor.as_of_height, HEAD_HEIGHT);
    }
}

#[tokio::test]
async fn anchor_63_hex_digits_is_400() {
    let server = start().await;
    let short = &anchored_commitment().to_hex()[..63];

    let response = Client::new().get(server.url(&format!("/v1/anchors/{short}"))).send().await.unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_hex").await;
    assert!(error.message.contains(short), "{}", error.message);
    assert!(error.message.contains("expected 64 hex digits"), "{}", error.message);
    assert!(error.message.contains("found 63"), "{}", error.message);
}

#[tokio::test]
async fn anchor_non_hex_is_400() {
    let server = start().await;
    let bad = format!("{}g", &anchored_commitment().to_hex()[..63]);

    let response = Client::new().get(server.url(&format!("/v1/anchors/{bad}"))).send().await.unwrap();

    let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_hex").await;
    assert!(error.message.contains("'g'"), "{}", error.message);
    assert!(error.message.contains("position 63"), "{}", error.message);
}

#[tokio::test]
async fn anchor_invalid_utf8_path_is_400() {
    let server = start().await;
    let response = Client::new().get(server.url("/v1/anchors/%FF%FE")).send().await.unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, "invalid_path").await;
}

#[tokio::test]
async fn anchor_missing_is_404_with_height() {
    let server = start().await;
    let missing = Hash32([0x55; 32]);

    let response = Client::new()
        .get(server.url(&format!("/v1/anchors/{}", missing.to_hex().to_uppercase())))
        .send()
        .await
        .unwrap();

    let error = expect_error(response, StatusCode::NOT_FOUND, "not_anchored").await;
    assert_eq!(error.message, format!("commitment {missing} is not anchored on chain as of height {HEAD_HEIGHT}"));
}

#[tokio::test]
async fn block_by_height_and_latest() {
    let server = start().await;

    let response = Client::new().get(server.url("/v1/blocks/3")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let block: BlockView = response.json().await.unwrap();
    assert_eq!(block.header.height, 3);
    assert_eq!(block.hash, block.header.hash());

    let response = Client::new().get(server.url("/v1/blocks/latest")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let block: BlockView = response.json().await.unwrap();
    assert_eq!(block.header.height, HEAD_HEIGHT);
}

#[tokio::test]
async fn block_missing_is_404() {
    let server = start().await;
    let response = Client::new().get(server.url("/v1/blocks/99")).send().await.unwrap();
    let error = expect_error(response, StatusCode::NOT_FOUND, "block_not_found").await;
    assert!(error.message.contains("99"), "{}", error.message);
    assert!(error.message.contains(&HEAD_HEIGHT.to_string()), "{}", error.message);
}

#[tokio::test]
async fn block_invalid_height_is_400() {
    let server = start().await;
    for raw in ["abc", "-1", "%2B1", "1.5", "18446744073709551616", "0x10"] {
        let response = Client::new().get(server.url(&format!("/v1/blocks/{raw}"))).send().await.unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST, "invalid_height").await;
        assert!(error.message.contains("invalid block height"), "{raw}: {}", error.message);
    }
}

#[tokio::test]
async fn status_and_members() {
    let server = start().await;

    let response = Client::new().get(server.url("/v1/status")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let status: NodeStatus = response.json().await.unwrap();
    assert_eq!(status.height, HEAD_HEIGHT);
    assert_eq!(status.chain_id, support::CHAIN_ID);

    let response = Client::new().get(server.url("/v1/members")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let members: MembersView = response.json().await.unwrap();
    assert_eq!(members.validators.len(), 1);
    assert_eq!(members.quorum_weight, 1);
}

#[tokio::test]
async fn metrics_in_openmetrics_text() {
    let server = start().await;
    server.backend.metrics.set_peers(2);

    let response = Client::new().get(server.url("/metrics")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE hashbridge_height gauge"), "{text}");
    assert!(text.contains(&format!("hashbridge_height {HEAD_HEIGHT}")), "{text}");
    assert!(text.contains("hashbridge_commits_total 1"), "{text}");
    assert!(text.contains("hashbridge_peers 2"), "{text}");
    assert!(text.contains("# TYPE hashbridge_commit_latency_seconds histogram"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn health_ok_then_unhealthy() {
    let server = start().await;

    let response = Client::new().get(server.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok" }));

    server.backend.state.lock().unwrap().unhealthy = true;
    let response = Client::new().get(server.url("/health")).send().await.unwrap();
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "unhealthy").await;
}

#[tokio::test]
async fn unknown_route_is_json_404() {
    let server = start().await;
    for path in ["/", "/v1/nothing", "/v1/anchors", "/v2/status"] {
        let response = Client::new().get(server.url(path)).send().await.unwrap();
        let error = expect_error(response, StatusCode::NOT_FOUND, "route_not_found").await;
        assert!(error.message.contains(path), "{}", error.message);
    }
}

#[tokio::test]
async fn wrong_method_is_json_405() {
    let server = start().await;
    let cases = [
        (reqwest::Method::DELETE, "/v1/status"),
        (reqwest::Method::GET, "/v1/transactions"),
        (reqwest::Method::POST, "/v1/blocks/latest"),
        (reqwest::Method::PUT, "/v1/anchors/abc"),
    ];
    for (method, path) in cases {
        let response = Client::new().request(method.clone(), server.url(path)).send().await.unwrap();
        assert!(response.headers().contains_key("allow"), "{method} {path} has no Allow header");
        let error = expect_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
        assert!(error.message.contains(method.as_str()), "{}", error.message);
    }
}

#[tokio::test]
async fn openapi_lists_every_path() {
    let server = start().await;

    let response = Client::new().get(server.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();

    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let expected = [
        ("/v1/transactions", "post"),
        ("/v1/transactions/{id}", "get"),
        ("/v1/anchors/{commitment}", "get"),
        ("/v1/blocks/{height}", "get"),
        ("/v1/blocks/latest", "get"),
        ("/v1/status", "get"),
        ("/v1/members", "get"),
        ("/metrics", "get"),
        ("/health", "get"),
        ("/openapi.json", "get"),
    ];
    assert_eq!(paths.len(), expected.len(), "paths: {:?}", paths.keys().collect::<Vec<_>>());
    for (path, method) in expected {
        assert!(paths[path][method].is_object(), "missing {method} {path}");
    }

    let anchor = &paths["/v1/anchors/{commitment}"]["get"];
    assert_eq!(anchor["parameters"][0]["name"], "commitment");
    assert_eq!(anchor["parameters"][0]["in"], "path");
    let not_found = &anchor["responses"]["404"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(not_found, "#/components/schemas/ErrorBody");

    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in ["ErrorBody", "SubmitRequest", "SubmitResponse", "AnchorView", "BlockView", "NodeStatus", "MembersView"]
    {
        assert!(schemas.contains_key(name), "missing schema {name}");
    }
    assert_eq!(schemas["SubmitRequest"]["required"], json!(["transaction"]));
}

#[tokio::test]
async fn serve_stops_on_shutdown() {
    let server = start().await;
    let url = server.url("/health");
    assert_eq!(Client::new().get(&url).send().await.unwrap().status(), StatusCode::OK);

    server.stop().await.unwrap();

    assert!(Client::new().get(&url).send().await.is_err(), "server still answers after shutdown");
}
