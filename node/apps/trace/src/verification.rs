//! Consumer verification: the GS1 Digital Link paths a pack's QR code or NFC tag points to.
//!
//! `GET /01/{gtin}/21/{serial}` (and `/01/{gtin}/10/{lot}/21/{serial}`, with `?17=YYMMDD` for the
//! expiry printed on the pack) answers a person's browser with a mobile-first HTML page (no
//! scripts, no build step) and a program with the proof bundle as JSON (content negotiation on
//! `Accept`; `?format=json` or `?format=html` forces one). Every lookup is counted per code and
//! place (network prefix of the client), because a code scanned many times in many places is
//! likely cloned; the count is this node's observation, shown on the page and in the
//! `x-rxchain-scan-count` header, and is not part of the proven bundle.

use crate::proof::{ProofBundle, Subject};
use crate::scans::ScanRecord;
use crate::{Trace, TraceCode};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use rxchain_contract_types::{registry, roles, trace};
use rxchain_node::api::{ApiError, Code, blocking};
use rxchain_node::client::ChainClient;
use rxchain_node::runtime::now_ms;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;

#[derive(Debug, Deserialize, Default)]
pub struct DigitalLinkQuery {
    /// GS1 AI 17, the expiry date on the pack (YYMMDD).
    #[serde(rename = "17")]
    expiry: Option<String>,
    format: Option<String>,
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
/// (registered with `register_china_product_code`); the pack's serial is the whole code.
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
            organization_names(trace.client(), &bundle)
        } else {
            HashMap::new()
        };
        Ok::<_, ApiError>((bundle, scans, organizations))
    })
    .await?;
    let scan_header = [("x-rxchain-scan-count", scans.count.to_string())];
    if html {
        Ok((scan_header, Html(page(&bundle, &scans, &organizations))).into_response())
    } else {
        Ok((scan_header, Json(bundle)).into_response())
    }
}

/// Display names and roles of the organizations in a timeline, from the registry.
fn organization_names(
    client: &dyn ChainClient,
    bundle: &ProofBundle,
) -> HashMap<String, (String, String)> {
    let mut names = HashMap::new();
    let timeline = bundle.body.statement["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The acting organizations and the counterparties named in shipping and receiving steps.
    let mentioned = timeline.iter().flat_map(|item| {
        ["organization"]
            .iter()
            .map(|key| item[*key].clone())
            .chain(["to", "from"].iter().map(|key| item["step"][*key].clone()))
            .collect::<Vec<_>>()
    });
    for value in mentioned {
        let Some(id) = value.as_str() else { continue };
        if names.contains_key(id) {
            continue;
        }
        let record = crate::ledger::query_record::<registry::Organization>(
            client,
            registry::CONTRACT_ID,
            "organization",
            &registry::OrganizationIdArgs { id: id.into() },
        )
        .ok()
        .flatten();
        if let Some(organization) = record {
            let role_names =
                roles::names_of(&roles::organization::NAMES, organization.roles).join(", ");
            // The role line also says where the organization operates, when the registry knows.
            let role_and_place = if organization.location.is_empty() {
                role_names
            } else {
                format!("{role_names} · {}", organization.location)
            };
            names.insert(id.to_string(), (organization.name, role_and_place));
        }
    }
    names
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(ms: u64) -> String {
    let seconds = ms / 1000;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let minutes_of_day = (seconds % 86_400) / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes_of_day / 60,
        minutes_of_day % 60
    )
}

fn step_text(step: &Value, organizations: &HashMap<String, (String, String)>) -> String {
    let field = |name: &str| {
        let value = step[name].as_str().unwrap_or("");
        organizations
            .get(value)
            .map(|(display, _)| display.clone())
            .unwrap_or_else(|| value.to_string())
    };
    match step["step"].as_str().unwrap_or("") {
        "commissioning" => format!(
            "Made and serialized (lot {}, expiry {})",
            field("lot"),
            field("expiry")
        ),
        "shipping" => format!(
            "Shipped to {} (shipment {})",
            field("to"),
            field("shipment_id")
        ),
        "receiving" => format!(
            "Received from {} (shipment {})",
            field("from"),
            field("shipment_id")
        ),
        "dispensing" => "Dispensed to a patient".into(),
        "packing" => format!("Packed into case or pallet {}", field("container")),
        "unpacking" => format!("Unpacked from case or pallet {}", field("container")),
        "decommissioning" => format!(
            "Taken out of the supply chain ({})",
            step["reason"].as_str().unwrap_or("")
        ),
        "quarantining" => format!("Quarantined as suspect ({})", field("reason")),
        "releasing_quarantine" => "Released from quarantine".into(),
        "returning" => format!(
            "Returned to {} (shipment {})",
            field("to"),
            field("shipment_id")
        ),
        other => other.replace('_', " "),
    }
}

/// The verification page's HTML. Long because it is the page's whole template (one string
/// with its parts filled in); the page kit will replace it.
fn page(
    bundle: &ProofBundle,
    scans: &ScanRecord,
    organizations: &HashMap<String, (String, String)>,
) -> String {
    let statement = &bundle.body.statement;
    let verdict_code = statement["verdict"]["code"]
        .as_str()
        .unwrap_or("unknown_code");
    let (tone, title) = match verdict_code {
        "genuine" => ("ok", "Genuine"),
        "already_dispensed" => ("warn", "Already dispensed"),
        "expired" => ("warn", "Expired"),
        "recalled" => ("bad", "Recalled"),
        "quarantined" => ("bad", "Quarantined"),
        "label_mismatch" => ("bad", "Label does not match the ledger"),
        "decommissioned" => ("bad", "Taken out of the supply chain"),
        _ => ("bad", "Unknown code"),
    };
    let summary = statement["verdict"]["summary"].as_str().unwrap_or("");
    let product = &statement["product"];
    let mut facts = String::new();
    if product.is_object() {
        let rows = [
            (
                "Product",
                format!(
                    "{} {}",
                    product["name"].as_str().unwrap_or(""),
                    product["strength"].as_str().unwrap_or("")
                ),
            ),
            (
                "Form",
                format!(
                    "{}, {} per pack",
                    product["dosage_form"].as_str().unwrap_or(""),
                    product["pack_size"]
                ),
            ),
            (
                "Type",
                if product["prescription"] == true {
                    "Prescription only (Rx)".into()
                } else {
                    "Over the counter (OTC)".into()
                },
            ),
            (
                "Storage",
                format!(
                    "{:.1} to {:.1} °C",
                    product["storage_celsius_tenths_min"]
                        .as_f64()
                        .unwrap_or(0.0)
                        / 10.0,
                    product["storage_celsius_tenths_max"]
                        .as_f64()
                        .unwrap_or(0.0)
                        / 10.0
                ),
            ),
            (
                "Approval number",
                product["approval_number"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
            (
                "Manufacturer",
                product["manufacturer"].as_str().unwrap_or("").to_string(),
            ),
        ];
        for (label, value) in rows {
            facts.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(label),
                escape(&value)
            ));
        }
    }
    for (label, key) in [("GTIN", "gtin"), ("Serial", "serial")] {
        facts.push_str(&format!(
            "<tr><th>{label}</th><td>{}</td></tr>",
            escape(statement["pack"][key].as_str().unwrap_or(""))
        ));
    }
    for (label, key) in [("Lot", "lot"), ("Expiry (YYMMDD)", "expiry")] {
        if let Some(value) = statement[key].as_str() {
            facts.push_str(&format!(
                "<tr><th>{label}</th><td>{}</td></tr>",
                escape(value)
            ));
        }
    }
    let mut timeline = String::new();
    for item in statement["timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = item["organization"].as_str().unwrap_or("");
        let (name, role) = organizations
            .get(id)
            .cloned()
            .unwrap_or_else(|| (id.to_string(), String::new()));
        timeline.push_str(&format!(
            "<li><div class=\"when\">{}</div><div class=\"what\">{}</div><div class=\"who\">{} <span class=\"role\">{}</span></div><div class=\"block\">block {}</div></li>",
            escape(&format_time(item["time_ms"].as_u64().unwrap_or(0))),
            escape(&step_text(&item["step"], organizations)),
            escape(&name),
            escape(&role),
            item["height"],
        ));
    }
    if timeline.is_empty() {
        timeline.push_str("<li><div class=\"what\">No ledger events for this code.</div></li>");
    }
    let places = scans.places.len();
    let scan_note = if scans.count > 20 && places > 3 {
        " Many scans in many places can mean the code was copied."
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — rxchain pack check</title>
<style>
body{{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans SC",sans-serif;background:#f4f6f8;color:#1d2733}}
main{{max-width:34rem;margin:0 auto;padding:1rem}}
.verdict{{border-radius:12px;padding:1rem 1.2rem;color:#fff}}
.verdict h1{{margin:0 0 .3rem;font-size:1.6rem}}
.verdict p{{margin:0;line-height:1.4}}
.ok{{background:#1b7f4b}} .warn{{background:#b86e00}} .bad{{background:#b3261e}}
section{{background:#fff;border-radius:12px;margin-top:1rem;padding:1rem 1.2rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}}
h2{{font-size:1.05rem;margin:0 0 .6rem}}
table{{width:100%;border-collapse:collapse}} th{{text-align:left;font-weight:600;color:#5b6774;padding:.25rem .5rem .25rem 0;vertical-align:top;width:40%}} td{{padding:.25rem 0}}
ol{{list-style:none;margin:0;padding:0;border-left:3px solid #c9d3dd}}
li{{position:relative;margin:0 0 .9rem .9rem}}
li::before{{content:"";position:absolute;left:-1.35rem;top:.3rem;width:.7rem;height:.7rem;border-radius:50%;background:#3d6fb6}}
.when{{font-size:.85rem;color:#5b6774}} .what{{font-weight:600}} .role{{color:#5b6774;font-size:.85rem}} .block{{font-size:.75rem;color:#8a96a3}}
.small{{font-size:.85rem;color:#5b6774;line-height:1.4}}
a{{color:#245da8}}
</style></head>
<body><main>
<div class="verdict {tone}"><h1>{title}</h1><p>{summary}</p></div>
<section><h2>This pack</h2><table>{facts}</table></section>
<section><h2>Where it has been</h2><ol>{timeline}</ol></section>
<section><h2>Scans</h2><p class="small">This code was checked {count} time(s) through this node, from {places} place(s).{scan_note}</p></section>
<section><h2>Proof</h2><p class="small">Every step above is a transaction on chain <b>{chain}</b>, final at block {head} with the validators' signatures. <a href="?format=json">Download the proof bundle</a> and check it offline with <code>rxchain verify BUNDLE.json --genesis GENESIS.toml</code>.</p></section>
</main></body></html>
"#,
        summary = escape(summary),
        count = scans.count,
        chain = escape(&bundle.body.chain_id),
        head = bundle.body.head_height,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        // 2026-11-26 00:31:03 UTC
        assert_eq!(format_time(1_795_653_063_000), "2026-11-26 00:31 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00 UTC");
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

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>\"x\"</b>"), "&lt;b&gt;&quot;x&quot;&lt;/b&gt;");
    }
}
