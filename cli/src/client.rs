//! A small client of the node's HTTP API: chain info, nonces, submit, wait, query.

use anyhow::{Context, Result, anyhow, bail};
use ed25519_dalek::SigningKey;
use rxchain_node::transaction::TransactionBody;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Blocks a transaction stays valid for when the caller does not say.
pub const DEFAULT_EXPIRY_BLOCKS: u64 = 1_000;

#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("http client builds"),
        }
    }

    async fn json(response: reqwest::Response) -> Result<Value> {
        let status = response.status();
        let body: Value = response.json().await.context("reading the node's answer")?;
        if !status.is_success() {
            let code = body["error"]["code"].as_str().unwrap_or("unknown");
            let message = body["error"]["message"].as_str().unwrap_or("");
            bail!("node refused ({status}): {code}: {message}");
        }
        Ok(body)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("contacting the node at {}", self.base))?;
        Self::json(response).await
    }

    /// One unlabelled value of the node's Prometheus metrics.
    pub async fn metric(&self, name: &str) -> Result<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .with_context(|| format!("contacting the node at {}", self.base))?
            .text()
            .await?;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .ok_or_else(|| anyhow!("the node exports no metric {name}"))?
            .trim()
            .parse()
            .with_context(|| format!("metric {name} is not a number"))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .with_context(|| format!("contacting the node at {}", self.base))?;
        Self::json(response).await
    }

    pub async fn chain(&self) -> Result<Value> {
        self.get("/v1/chain").await
    }

    /// The nonce a new transaction of `key` takes: after its committed ones and those the
    /// node holds queued, so that two submissions in a row without waiting do not collide.
    pub async fn next_nonce(&self, key: &SigningKey) -> Result<u64> {
        let account = self
            .get(&format!(
                "/v1/accounts/{}",
                hex::encode(key.verifying_key().as_bytes())
            ))
            .await?;
        account["next_free_nonce"]
            .as_u64()
            .ok_or_else(|| anyhow!("the node gave no nonce"))
    }

    /// Builds, signs and submits a call; returns the transaction id (hex).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_call(
        &self,
        key: &SigningKey,
        contract: &str,
        method: &str,
        args: Vec<u8>,
        nonce: Option<u64>,
        expiry_blocks: u64,
    ) -> Result<String> {
        let chain = self.chain().await?;
        let chain_id = chain["chain_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no chain id"))?;
        let height = chain["head"]["height"]
            .as_u64()
            .ok_or_else(|| anyhow!("no head"))?;
        let nonce = match nonce {
            Some(nonce) => nonce,
            None => self.next_nonce(key).await?,
        };
        let transaction = TransactionBody::call(
            chain_id,
            key,
            nonce,
            height + expiry_blocks,
            contract,
            method,
            args,
        )
        .sign(key);
        self.submit(&transaction.encode()).await
    }

    pub async fn submit(&self, bytes: &[u8]) -> Result<String> {
        let answer = self
            .post(
                "/v1/transactions",
                &json!({"transaction": hex::encode(bytes)}),
            )
            .await?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the node gave no transaction id"))
    }

    /// Polls the transaction until it is committed or `timeout` passes.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            let status = self.get(&format!("/v1/transactions/{id}")).await?;
            if status["status"] == "committed" {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("transaction {id} was not committed within {timeout:?}");
            }
            // Polling an HTTP API has no condition to wait on; back off up to 200 ms.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    pub async fn query(&self, contract: &str, name: &str, args: &Value) -> Result<Value> {
        self.post(&format!("/v1/contracts/{contract}/queries/{name}"), args)
            .await
    }
}
