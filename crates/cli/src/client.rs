//! A small blocking HTTP client for the node API, used by the client commands.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use hashbridge_api::types::{AnchorView, ErrorBody, NodeStatus, SubmitRequest, SubmitResponse, TransactionState, TransactionStatus};
use hashbridge_crypto::Hash32;
use hashbridge_types::Transaction;
use serde::de::DeserializeOwned;

/// Largest response body read from a node.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct NodeClient {
    base: String,
    http: reqwest::blocking::Client,
}

impl NodeClient {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        if base.starts_with("https://") {
            bail!("node URL {base:?} uses https, which this build does not support; give the node's plain http address on the institution's network, such as http://127.0.0.1:20200");
        }
        if !base.starts_with("http://") {
            bail!("node URL {base:?} must start with http://, such as http://127.0.0.1:20200");
        }
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(NodeClient { base, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn read<T: DeserializeOwned>(&self, response: reqwest::blocking::Response, what: &str) -> anyhow::Result<Result<T, (u16, ErrorBody)>> {
        let status = response.status();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_RESPONSE_BYTES), &mut body)?;
        if status.is_success() {
            let value = serde_json::from_slice(&body).with_context(|| format!("node sent an unreadable answer for {what}"))?;
            return Ok(Ok(value));
        }
        let error = serde_json::from_slice::<ErrorBody>(&body).unwrap_or_else(|_| ErrorBody {
            error: "http_error".into(),
            message: String::from_utf8_lossy(&body).chars().take(300).collect(),
        });
        Ok(Err((status.as_u16(), error)))
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Result<T, (u16, ErrorBody)>> {
        let response = self.http.get(self.url(path)).send().with_context(|| format!("cannot reach node at {}", self.base))?;
        self.read(response, path)
    }

    pub fn status(&self) -> anyhow::Result<NodeStatus> {
        self.get("/v1/status")?.map_err(|(code, e)| anyhow!("node status failed ({code}): {}", e.message))
    }

    pub fn submit(&self, tx: &Transaction) -> anyhow::Result<SubmitResponse> {
        let response = self
            .http
            .post(self.url("/v1/transactions"))
            .json(&SubmitRequest { transaction: tx.clone() })
            .send()
            .with_context(|| format!("cannot reach node at {}", self.base))?;
        self.read(response, "the submission")?.map_err(|(code, e)| anyhow!("node rejected the transaction ({code} {}): {}", e.error, e.message))
    }

    pub fn transaction(&self, id: &Hash32) -> anyhow::Result<TransactionStatus> {
        self.get(&format!("/v1/transactions/{id}"))?.map_err(|(code, e)| anyhow!("transaction status failed ({code}): {}", e.message))
    }

    /// The anchor for `commitment`, or `None` when the node reports it is not anchored.
    /// Any other failure, including a 404 from a wrong URL or a proxy, is an error.
    pub fn anchor(&self, commitment: &Hash32) -> anyhow::Result<Option<AnchorView>> {
        match self.get(&format!("/v1/anchors/{commitment}"))? {
            Ok(view) => Ok(Some(view)),
            Err((404, e)) if e.error == "not_anchored" => Ok(None),
            Err((404, e)) => Err(anyhow!("{}/v1/anchors returned 404 ({}): {}; check that --node is the node's base URL, such as http://127.0.0.1:20200", self.base, e.error, e.message)),
            Err((code, e)) => Err(anyhow!("anchor lookup failed ({code}): {}", e.message)),
        }
    }

    /// Polls until the transaction leaves the pending state or `timeout` passes.
    pub fn wait_for(&self, id: &Hash32, timeout: Duration) -> anyhow::Result<TransactionStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.transaction(id)?;
            if !matches!(status.state, TransactionState::Pending | TransactionState::Unknown) {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "transaction {id} is still {} after {}s; it may commit later, so check it with GET /v1/transactions/{id} or `hashbridge status` before sending it again",
                    crate::anchoring::serde_name(&status.state),
                    timeout.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
