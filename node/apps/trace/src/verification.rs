//! Consumer verification: the GS1 Digital Link paths a pack's QR code or NFC tag points to.
//!
//! `GET /01/{gtin}/21/{serial}` (and `/01/{gtin}/10/{lot}/21/{serial}`, with `?17=YYMMDD` for the
//! expiry printed on the pack) answers a person's browser with a mobile-first HTML page (no
//! scripts, no build step) and a program with the proof bundle as JSON (content negotiation on
//! `Accept`; `?format=json` or `?format=html` forces one). Every lookup is counted per code and
//! place (network prefix of the client), because a code scanned many times in many places is
//! likely cloned; the count is this node's observation, shown on the page and in the
//! `x-rxchain-scan-count` header, and is not part of the proven bundle.

use crate::page::OrganizationLabel;
use crate::proof::{ProofBundle, Subject};
use crate::scans::ScanRecord;
use crate::{Trace, TraceCode};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use rxchain_contract_types::registry;
use rxchain_node::api::{ApiError, Code, blocking};
use rxchain_node::client::ChainClient;
use rxchain_node::runtime::now_ms;
use rxchain_trace_types as trace;
use rxchain_trace_types::TraceStep;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize, Default)]
pub struct DigitalLinkQuery {
    /// GS1 AI 17, the expiry date on the pack (YYMMDD).
    #[serde(rename = "17")]
    expiry: Option<String>,
    format: Option<String>,
    /// The page's language switch: `zh` or `en` (else `Accept-Language` decides).
    lang: Option<String>,
}

/// GTIN-8/12/13/14 with a valid check digit, as GTIN-14.
fn normalize_gtin(text: &str) -> Option<String> {
    if ![8, 12, 13, 14].contains(&text.len()) {
        return None;
    }
    let padded = format!("{text:0>14}");
    trace::is_valid_gtin14(&padded).then_some(padded)
}

fn wants_html(headers: &HeaderMap, query: &DigitalLinkQuery) -> bool {
    match query.format.as_deref() {
        Some("json") => false,
        Some("html") => true,
        _ => headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html")),
    }
}

/// The network prefix a scan came from: /24 for IPv4, /48 for IPv6.
fn place_of(address: Option<SocketAddr>) -> String {
    match address.map(|address| address.ip()) {
        Some(std::net::IpAddr::V4(ip)) => {
            let [a, b, c, _] = ip.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Some(std::net::IpAddr::V6(ip)) => {
            let segments = ip.segments();
            format!("{:x}:{:x}:{:x}::/48", segments[0], segments[1], segments[2])
        }
        None => "unknown".into(),
    }
}

pub async fn pack_without_lot(
    state: State<Trace>,
    Path((gtin, serial)): Path<(String, String)>,
    query: Query<DigitalLinkQuery>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    verify(state, gtin, None, serial, query, headers, connection).await
}

pub async fn pack_with_lot(
    state: State<Trace>,
    Path((gtin, lot, serial)): Path<(String, String, String)>,
    query: Query<DigitalLinkQuery>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    verify(state, gtin, Some(lot), serial, query, headers, connection).await
}

/// `GET /code/{code}`: China's 20-digit drug trace code. Its first 7 digits name the product
/// (claimed with `register_china_product_code`, linked once a regulator approves with
/// `approve_china_product_code`); the pack's serial is the whole code.
pub async fn china_trace_code(
    State(trace): State<Trace>,
    Path(code): Path<String>,
    query: Query<DigitalLinkQuery>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    let parsed = rxchain_gs1::ChinaDrugTraceCode::parse(&code)
        .map_err(|error| ApiError::of(TraceCode::InvalidTraceCode, error.to_string()))?;
    let product_code = parsed.product_identification_code().to_string();
    let lookup = trace.clone();
    let gtin = tokio::task::spawn_blocking(move || {
        crate::ledger::query_record::<trace::GtinArgs>(
            lookup.client(),
            trace::CONTRACT_ID,
            "gtin_by_china_code",
            &trace::ChinaCodeArgs { product_code },
        )
        .ok()
        .flatten()
        .map(|found| found.gtin)
    })
    .await
    .map_err(|error| ApiError::of(Code::Internal, error.to_string()))?;
    // An unknown product code still gets an answer: the unknown-code verdict, with its bundle.
    let gtin = gtin.unwrap_or_else(|| "00000000000000".to_string());
    verify(State(trace), gtin, None, code, query, headers, connection).await
}

async fn verify(
    State(trace): State<Trace>,
    gtin: String,
    lot: Option<String>,
    serial: String,
    Query(query): Query<DigitalLinkQuery>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Response, ApiError> {
    let Some(gtin) = normalize_gtin(&gtin) else {
        return Err(ApiError::of(
            TraceCode::InvalidGtin,
            format!("'{gtin}' is not a GTIN with a valid check digit"),
        ));
    };
    if !trace::is_valid_gs1_text(&serial, trace::SERIAL_CHARACTERS_MAX) {
        return Err(ApiError::of(
            TraceCode::InvalidSerial,
            "the serial number is not a GS1 serial (1 to 20 characters of the GS1 character set)",
        ));
    }
    if let Some(expiry) = &query.expiry
        && !trace::is_valid_yymmdd(expiry)
    {
        return Err(ApiError::of(
            TraceCode::InvalidExpiry,
            "17= must be a date as YYMMDD",
        ));
    }
    let subject = Subject {
        gtin,
        serial,
        scanned_lot: lot,
        scanned_expiry: query.expiry.clone(),
    };
    let place = place_of(connection.map(|Extension(ConnectInfo(address))| address));
    let html = wants_html(&headers, &query);
    let language = rxchain_pages::Language::negotiate(
        query.lang.as_deref(),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    );
    let (bundle, scans, organizations) = blocking(move || {
        let now = now_ms();
        let code = format!("{}/{}", subject.gtin, subject.serial);
        let bundle = crate::ledger::prove_pack(&trace, subject, now)?;
        // Only codes on the ledger are counted: random codes must not grow the disk.
        let unknown = bundle.statement().is_ok_and(|statement| {
            statement.verdict.code == crate::proof::VerdictCode::UnknownCode
        });
        let scans = if unknown {
            ScanRecord::default()
        } else {
            trace.scans().record(&code, &place, now)?
        };
        let organizations = if html {
            organization_names(&trace, &bundle)
        } else {
            HashMap::new()
        };
        Ok::<_, ApiError>((bundle, scans, organizations))
    })
    .await?;
    let scan_header = [("x-rxchain-scan-count", scans.count.to_string())];
    if html {
        let statement = bundle.statement().map_err(|error| {
            ApiError::of(
                Code::Internal,
                format!("the bundle's own statement: {error}"),
            )
        })?;
        let kept: Vec<String> = query
            .expiry
            .iter()
            .map(|expiry| format!("17={expiry}"))
            .collect();
        let page = crate::page::render(
            &bundle,
            &statement,
            &crate::page::PageContext {
                language,
                scans: &scans,
                organizations: &organizations,
                kept_parameters: &kept,
            },
        );
        Ok((
            scan_header,
            [(header::VARY, "Accept, Accept-Language")],
            Html(page),
        )
            .into_response())
    } else {
        Ok((scan_header, Json(bundle)).into_response())
    }
}

/// Display names and roles of the organizations in a timeline: the acting organizations and
/// the counterparties named in shipping and receiving steps.
fn organization_names(trace: &Trace, bundle: &ProofBundle) -> HashMap<String, OrganizationLabel> {
    let Ok(statement) = bundle.statement() else {
        return HashMap::new();
    };
    let mut names = HashMap::new();
    for item in &statement.timeline {
        let counterparty = match &item.step {
            TraceStep::Shipping { to, .. } | TraceStep::Returning { to, .. } => Some(to),
            TraceStep::Receiving { from, .. } | TraceStep::MissingInTransit { from, .. } => {
                Some(from)
            }
            _ => None,
        };
        for id in std::iter::once(&item.organization).chain(counterparty) {
            if names.contains_key(id) {
                continue;
            }
            if let Some(found) = trace.organization_names().get(trace.client(), id) {
                names.insert(id.clone(), found);
            }
        }
    }
    names
}

/// Longest an organization's display name is served from the cache.
pub const ORGANIZATION_NAME_TTL_MS: u64 = 60_000;
/// Organizations whose display names are cached, at most.
pub const ORGANIZATION_NAMES_MAX: usize = 1_024;

/// Organizations' display names and roles, cached: every page names a few organizations, each
/// a registry query, and names change only by governance. A minute's staleness on a page is
/// harmless: the bundle's proven facts name organizations by id.
#[derive(Debug, Default)]
pub struct OrganizationNames {
    /// Id → (when read, (name, role and place) or `None` when the registry has no such id).
    entries: Mutex<HashMap<String, (Instant, Option<OrganizationLabel>)>>,
}

impl OrganizationNames {
    pub fn get(&self, client: &dyn ChainClient, id: &str) -> Option<OrganizationLabel> {
        let now = Instant::now();
        let ttl = Duration::from_millis(ORGANIZATION_NAME_TTL_MS);
        if let Some((read, known)) = self.entries.lock().expect("names lock").get(id)
            && now.duration_since(*read) < ttl
        {
            return known.clone();
        }
        let record = crate::ledger::query_record::<registry::Organization>(
            client,
            registry::CONTRACT_ID,
            "organization",
            &registry::OrganizationIdArgs { id: id.into() },
        );
        // A failed query is not an answer to remember.
        let Ok(record) = record else {
            return None;
        };
        let found = record.map(|organization| OrganizationLabel {
            name: organization.name,
            roles: organization.roles,
            location: organization.location,
        });
        self.remember(id, now, found.clone());
        found
    }

    /// Keeps one answer, making room first: expired entries go, and if all are fresh (a page
    /// naming many organizations, or a flood of distinct ids) the cache starts over rather
    /// than grow past its limit.
    fn remember(&self, id: &str, now: Instant, found: Option<OrganizationLabel>) {
        let ttl = Duration::from_millis(ORGANIZATION_NAME_TTL_MS);
        let mut entries = self.entries.lock().expect("names lock");
        if entries.len() >= ORGANIZATION_NAMES_MAX && !entries.contains_key(id) {
            entries.retain(|_, (read, _)| now.duration_since(*read) < ttl);
            if entries.len() >= ORGANIZATION_NAMES_MAX {
                entries.clear();
            }
        }
        entries.insert(id.to_string(), (now, found));
        debug_assert!(entries.len() <= ORGANIZATION_NAMES_MAX);
    }

    /// Organizations cached now.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("names lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_stay_within_their_limit() {
        let names = OrganizationNames::default();
        let start = Instant::now();
        for index in 0..ORGANIZATION_NAMES_MAX {
            names.remember(&format!("org-{index}"), start, None);
        }
        assert_eq!(names.len(), ORGANIZATION_NAMES_MAX);
        // Refreshing a cached id does not evict others.
        let label = OrganizationLabel {
            name: "A".into(),
            roles: 0,
            location: String::new(),
        };
        names.remember("org-0", start, Some(label));
        assert_eq!(names.len(), ORGANIZATION_NAMES_MAX);
        // One more, all fresh: the cache starts over instead of growing.
        names.remember("org-new", start, None);
        assert_eq!(names.len(), 1);
        // Once entries have expired, only they are dropped.
        for index in 0..ORGANIZATION_NAMES_MAX - 1 {
            names.remember(&format!("org-{index}"), start, None);
        }
        let later = start + Duration::from_millis(ORGANIZATION_NAME_TTL_MS + 1);
        names.remember("fresh", later, None);
        names.remember("another", later, None);
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn short_gtins_are_padded_and_checked() {
        assert_eq!(
            normalize_gtin("9506000134352").as_deref(),
            Some("09506000134352")
        );
        assert_eq!(normalize_gtin("9506000134353"), None);
        assert_eq!(normalize_gtin("123"), None);
    }
}
