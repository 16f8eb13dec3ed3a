//! The traceability module's JSON routes beside EPCIS and verification: a pack's record and
//! history, and its label.

use crate::{Trace, TraceCode};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use rxchain_contract_types::abi;
use rxchain_node::api::{ApiError, EVENTS_PER_RESPONSE_MAX, blocking, located_event_json};
use rxchain_node::client::ClientError;
use rxchain_trace_types as trace;
use serde::Deserialize;
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

fn invalid_gtin(gtin: &str) -> ApiError {
    ApiError::of(
        TraceCode::InvalidGtin,
        format!("'{gtin}' is not a GTIN-14 with a valid check digit"),
    )
}

/// A trace query's result as JSON; `None` when the contract says not found.
fn query_json(
    trace_state: &Trace,
    name: &str,
    arguments: Value,
) -> Result<Option<Value>, ApiError> {
    let codecs = trace_state.codecs();
    let bytes = codecs.encode_arguments(trace::CONTRACT_ID, name, arguments)?;
    match trace_state.client().query(trace::CONTRACT_ID, name, &bytes) {
        Ok(result) => Ok(codecs.decode_result(trace::CONTRACT_ID, name, &result).ok()),
        Err(ClientError::QueryFailed { code, .. }) if code == abi::error_code::NOT_FOUND => {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// `GET /v1/trace/packs/{gtin}/{serial}`: the pack's ledger record, its product, its EPC and its
/// whole history.
pub async fn pack_history(
    State(trace_state): State<Trace>,
    Path((gtin, serial)): Path<(String, String)>,
) -> ApiResult {
    if !trace::is_valid_gtin14(&gtin) {
        return Err(invalid_gtin(&gtin));
    }
    let pack_id = trace::PackId {
        gtin: gtin.clone(),
        serial: serial.clone(),
    };
    let (pack, product, history, epc) = blocking(move || -> Result<_, ApiError> {
        let pack = query_json(
            &trace_state,
            "pack",
            json!({"gtin": gtin, "serial": serial}),
        )?;
        let product = query_json(&trace_state, "product", json!({"gtin": gtin}))?;
        let history = trace_state.client().events(
            &trace::topics::pack(&pack_id),
            None,
            EVENTS_PER_RESPONSE_MAX,
        )?;
        let history: Vec<Value> = history
            .iter()
            .map(|located| located_event_json(trace_state.codecs(), located))
            .collect();
        let epc =
            crate::ledger::CompanyPrefixes::default().sgtin_urn(trace_state.client(), &pack_id);
        Ok((pack, product, history, epc))
    })
    .await?;
    let Some(pack) = pack else {
        return Err(ApiError::of(
            TraceCode::UnknownPack,
            "this code is not on the ledger: the pack may be counterfeit",
        ));
    };
    Ok(Json(json!({
        "pack": pack,
        "epc": epc,
        "product": product,
        "history": history,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct LabelParameters {
    lot: Option<String>,
    /// YYMMDD.
    expiry: Option<String>,
    /// `svg` (default), `png` or `ndef`.
    format: Option<String>,
    /// Base of the Digital Link URI; default `http://{Host}` of this request.
    base: Option<String>,
    module_pixels: Option<usize>,
}

/// `GET /v1/labels/{gtin}/{serial}`: the QR code (SVG or PNG) or NFC NDEF record of a pack's
/// Digital Link.
pub async fn label(
    Path((gtin, serial)): Path<(String, String)>,
    Query(parameters): Query<LabelParameters>,
    headers: axum::http::HeaderMap,
) -> ApiResult {
    if !trace::is_valid_gtin14(&gtin) {
        return Err(invalid_gtin(&gtin));
    }
    if !trace::is_valid_gs1_text(&serial, trace::SERIAL_CHARACTERS_MAX)
        || parameters
            .lot
            .as_ref()
            .is_some_and(|lot| !trace::is_valid_gs1_text(lot, trace::LOT_CHARACTERS_MAX))
        || parameters
            .expiry
            .as_ref()
            .is_some_and(|expiry| !trace::is_valid_yymmdd(expiry))
    {
        return Err(ApiError::bad_request(
            "serial and lot must be GS1 text of at most 20 characters, expiry YYMMDD",
        ));
    }
    let base = match parameters.base {
        Some(base) => base,
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let uri = crate::label::digital_link_uri(
        &base,
        &gtin,
        parameters.lot.as_deref(),
        &serial,
        parameters.expiry.as_deref(),
    );
    let module_pixels = parameters.module_pixels.unwrap_or(8);
    let label_error =
        |error: crate::label::LabelError| ApiError::of(TraceCode::InvalidLabel, error.to_string());
    let response = match parameters.format.as_deref().unwrap_or("svg") {
        "svg" => (
            [("content-type", "image/svg+xml")],
            crate::label::qr_svg(&uri, module_pixels).map_err(label_error)?,
        )
            .into_response(),
        "png" => (
            [("content-type", "image/png")],
            crate::label::qr_png(&uri, module_pixels).map_err(label_error)?,
        )
            .into_response(),
        "ndef" => (
            [("content-type", "application/vnd.nfc.ndef")],
            crate::label::ndef_uri_record(&uri).map_err(label_error)?,
        )
            .into_response(),
        other => {
            return Err(ApiError::bad_request(format!(
                "format '{other}': svg, png or ndef"
            )));
        }
    };
    Ok(response)
}
