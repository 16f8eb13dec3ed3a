//! The verification page a pack's QR code opens, in Chinese or English: the verdict first,
//! then the pack's facts, where it has been, how often its code was checked here, and how to
//! check the proof. Built with the page kit (`rxchain-pages`) from the bundle's typed statement.

use crate::proof::{ProofBundle, Statement, VerdictCode};
use crate::scans::ScanRecord;
use rxchain_contract_types::roles;
use rxchain_pages::{Language, Markup, Page, Text, date_from_yymmdd, date_time, html, layout};
use rxchain_trace_types::{DecommissionReason, TraceStep};
use std::collections::HashMap;

/// A scan record shows a warning above this many checks from more than
/// [`MANY_PLACES_MIN`] places.
const MANY_SCANS_MIN: u64 = 20;
const MANY_PLACES_MIN: usize = 3;

const TITLE_SUFFIX: Text = Text::new("rxchain pack check", "rxchain 药品核验");
const THIS_PACK: Text = Text::new("This pack", "药品信息");
const WHERE_IT_HAS_BEEN: Text = Text::new("Where it has been", "流通记录");
const SCANS: Text = Text::new("Scans", "查询次数");
const PROOF: Text = Text::new("Proof", "证明");
const NO_EVENTS: Text = Text::new(
    "No ledger events for this code.",
    "链上没有此追溯码的记录。",
);
const PRODUCT: Text = Text::new("Product", "药品名称");
const FORM: Text = Text::new("Form", "剂型");
const TYPE: Text = Text::new("Type", "类别");
const PRESCRIPTION: Text = Text::new("Prescription only (Rx)", "处方药（Rx）");
const OVER_THE_COUNTER: Text = Text::new("Over the counter (OTC)", "非处方药（OTC）");
const STORAGE: Text = Text::new("Storage", "储存温度");
const APPROVAL_NUMBER: Text = Text::new("Approval number", "批准文号");
const MANUFACTURER: Text = Text::new("Manufacturer", "生产企业");
const GTIN: Text = Text::new("GTIN", "商品条码（GTIN）");
const SERIAL: Text = Text::new("Serial", "序列号");
const LOT: Text = Text::new("Lot", "批号");
const EXPIRY: Text = Text::new("Expiry", "有效期至");
const BLOCK: Text = Text::new("block", "区块");
const MANY_SCANS: Text = Text::new(
    " Many scans in many places can mean the code was copied.",
    "多地多次查询可能意味着追溯码被复制。",
);
const DOWNLOAD: Text = Text::new("Download the proof bundle", "下载证明包");

/// How the verdict looks: colour and title.
fn verdict_look(code: VerdictCode) -> (&'static str, Text) {
    match code {
        VerdictCode::Genuine => ("ok", Text::new("Genuine", "正品")),
        VerdictCode::AlreadyDispensed => ("warn", Text::new("Already dispensed", "已发药")),
        VerdictCode::Expired => ("warn", Text::new("Expired", "已过期")),
        VerdictCode::Recalled => ("bad", Text::new("Recalled", "已召回")),
        VerdictCode::Quarantined => ("bad", Text::new("Quarantined", "已隔离")),
        VerdictCode::MissingInTransit => ("bad", Text::new("Missing in transit", "运输途中缺失")),
        VerdictCode::LabelMismatch => (
            "bad",
            Text::new("Label does not match the ledger", "标签与链上记录不符"),
        ),
        VerdictCode::Decommissioned => (
            "bad",
            Text::new("Taken out of the supply chain", "已退出流通"),
        ),
        VerdictCode::UnknownCode => ("bad", Text::new("Unknown code", "未知追溯码")),
    }
}

fn decommission_reason(reason: &DecommissionReason, language: Language) -> &'static str {
    let text = match reason {
        DecommissionReason::Destroyed => Text::new("destroyed", "销毁"),
        DecommissionReason::Damaged => Text::new("damaged", "破损"),
        DecommissionReason::Sample => Text::new("sample", "抽样"),
        DecommissionReason::Expired => Text::new("expired", "过期"),
        DecommissionReason::Repackaged => Text::new("repackaged", "重新包装"),
    };
    text.get(language)
}

/// A GS1 date for people, or the text as it is when it is not one.
fn yymmdd(language: Language, text: &str) -> String {
    date_from_yymmdd(language, text).unwrap_or_else(|| text.to_string())
}

/// The verdict's sentence. English is the statement's own (signed) summary; Chinese says the
/// same from the statement's typed facts.
fn summary(statement: &Statement, language: Language) -> String {
    let verdict = &statement.verdict;
    if language == Language::English {
        return verdict.summary.clone();
    }
    let lot = statement.lot.as_deref().unwrap_or("");
    let expiry = yymmdd(language, statement.expiry.as_deref().unwrap_or(""));
    let reason = verdict.reason.as_deref().unwrap_or("");
    match verdict.code {
        VerdictCode::Genuine => "正品：此药品由注册生产企业生产，并在合规流通渠道中。".into(),
        VerdictCode::AlreadyDispensed => {
            "此药品已发给患者。另一盒相同追溯码的药品可能是仿冒品。".into()
        }
        VerdictCode::Expired => format!("此药品已过期（有效期至 {expiry}），请勿使用。"),
        VerdictCode::Recalled => {
            format!("此产品批号 {lot} 已被召回（{reason}）。请勿使用，请退回药店。")
        }
        VerdictCode::Quarantined => format!("此药品被列为可疑并已隔离（{reason}），请勿使用。"),
        VerdictCode::MissingInTransit => {
            let shipment = statement
                .timeline
                .iter()
                .rev()
                .find_map(|item| match &item.step {
                    TraceStep::MissingInTransit { shipment_id, .. } => Some(shipment_id.as_str()),
                    _ => None,
                })
                .unwrap_or("");
            format!(
                "此药品在运单 {shipment} 到货清点时缺失，可能被盗或流向不明。请勿使用，并告知药店或药品监管部门。"
            )
        }
        VerdictCode::LabelMismatch => format!(
            "包装上的批号或有效期与链上记录不符（批号 {lot}，有效期至 {expiry}）。此药品可能是仿冒品。"
        ),
        VerdictCode::Decommissioned => {
            let reason = statement
                .timeline
                .iter()
                .find_map(|item| match &item.step {
                    TraceStep::Decommissioning { reason } => {
                        Some(decommission_reason(reason, language))
                    }
                    _ => None,
                })
                .unwrap_or(reason);
            format!("此药品已退出供应链（{reason}），不应在任何人手中。")
        }
        VerdictCode::UnknownCode => "此追溯码不在链上，药品可能是仿冒品。".into(),
    }
}

/// What a page says of an organization, from the registry: the page writes the roles in its
/// own language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationLabel {
    pub name: String,
    /// Organization role bits (`roles::organization`).
    pub roles: u32,
    /// Where it operates, when the registry knows (empty otherwise).
    pub location: String,
}

/// Organization roles as a page names them, in role bit order (`roles::organization`); the
/// Chinese are the terms of China's drug administration (药品上市许可持有人/生产企业, 批发企业, …).
const ORGANIZATION_ROLES: [(u32, Text); 7] = [
    (
        roles::organization::MANUFACTURER,
        Text::new("manufacturer", "生产企业"),
    ),
    (
        roles::organization::DISTRIBUTOR,
        Text::new("distributor", "批发企业"),
    ),
    (
        roles::organization::LOGISTICS,
        Text::new("logistics", "物流企业"),
    ),
    (
        roles::organization::PHARMACY,
        Text::new("pharmacy", "零售药店"),
    ),
    (
        roles::organization::HOSPITAL,
        Text::new("hospital", "医疗机构"),
    ),
    (
        roles::organization::REGULATOR,
        Text::new("regulator", "药品监管部门"),
    ),
    (
        roles::organization::PLATFORM,
        Text::new("platform", "网络销售平台"),
    ),
];

/// An organization's roles in the page's language, and where it operates when known.
fn role_line(label: &OrganizationLabel, language: Language) -> String {
    let separator = match language {
        Language::English => ", ",
        Language::Chinese => "、",
    };
    let roles = ORGANIZATION_ROLES
        .iter()
        .filter(|(bit, _)| label.roles & bit != 0)
        .map(|(_, text)| text.get(language))
        .collect::<Vec<_>>()
        .join(separator);
    if label.location.is_empty() {
        roles
    } else {
        format!("{roles} · {}", label.location)
    }
}

/// What a step did, with organizations by name.
fn step_text(
    step: &TraceStep,
    language: Language,
    organizations: &HashMap<String, OrganizationLabel>,
) -> String {
    let name = |id: &str| {
        organizations
            .get(id)
            .map(|label| label.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let chinese = language == Language::Chinese;
    match step {
        TraceStep::Commissioning { lot, expiry } if chinese => {
            format!(
                "生产并赋码（批号 {lot}，有效期至 {}）",
                yymmdd(language, expiry)
            )
        }
        TraceStep::Commissioning { lot, expiry } => format!(
            "Made and serialized (lot {lot}, expiry {})",
            yymmdd(language, expiry)
        ),
        TraceStep::Shipping { shipment_id, to } if chinese => {
            format!("发往 {}（运单 {shipment_id}）", name(to))
        }
        TraceStep::Shipping { shipment_id, to } => {
            format!("Shipped to {} (shipment {shipment_id})", name(to))
        }
        TraceStep::Receiving { shipment_id, from } if chinese => {
            format!("收货，来自 {}（运单 {shipment_id}）", name(from))
        }
        TraceStep::Receiving { shipment_id, from } => {
            format!("Received from {} (shipment {shipment_id})", name(from))
        }
        TraceStep::Returning { shipment_id, to } if chinese => {
            format!("退回 {}（运单 {shipment_id}）", name(to))
        }
        TraceStep::Returning { shipment_id, to } => {
            format!("Returned to {} (shipment {shipment_id})", name(to))
        }
        TraceStep::Dispensing if chinese => "发药给患者".into(),
        TraceStep::Dispensing => "Dispensed to a patient".into(),
        TraceStep::Packing { container } if chinese => format!("装入箱或托盘 {container}"),
        TraceStep::Packing { container } => format!("Packed into case or pallet {container}"),
        TraceStep::Unpacking { container } if chinese => format!("从箱或托盘 {container} 拆出"),
        TraceStep::Unpacking { container } => {
            format!("Unpacked from case or pallet {container}")
        }
        TraceStep::Decommissioning { reason } if chinese => {
            format!("退出供应链（{}）", decommission_reason(reason, language))
        }
        TraceStep::Decommissioning { reason } => format!(
            "Taken out of the supply chain ({})",
            decommission_reason(reason, language)
        ),
        TraceStep::Quarantining { reason } if chinese => format!("列为可疑并隔离（{reason}）"),
        TraceStep::Quarantining { reason } => format!("Quarantined as suspect ({reason})"),
        TraceStep::ReleasingQuarantine if chinese => "解除隔离".into(),
        TraceStep::ReleasingQuarantine => "Released from quarantine".into(),
        TraceStep::Recalling { reason } if chinese => format!("批次召回（{reason}）"),
        TraceStep::Recalling { reason } => format!("Lot recalled ({reason})"),
        TraceStep::ReleasingRecall if chinese => "解除召回".into(),
        TraceStep::ReleasingRecall => "Lot recall released".into(),
        TraceStep::MissingInTransit { shipment_id, from } if chinese => {
            format!(
                "收货清点时缺失，发货方 {}（运单 {shipment_id}）",
                name(from)
            )
        }
        TraceStep::MissingInTransit { shipment_id, from } => format!(
            "Missing when shipment {shipment_id} from {} was counted on arrival",
            name(from)
        ),
    }
}

/// The pack's facts: product master data from its proven registration, then its identifiers.
fn facts(statement: &Statement, language: Language) -> Vec<(Text, String)> {
    let mut rows = Vec::new();
    if let Some(product) = &statement.product {
        let per_pack = match language {
            Language::English => format!("{}, {} per pack", product.dosage_form, product.pack_size),
            Language::Chinese => format!("{}，每盒 {}", product.dosage_form, product.pack_size),
        };
        let range = |tenths: i32| format!("{:.1}", f64::from(tenths) / 10.0);
        let storage = match language {
            Language::English => format!(
                "{} to {} °C",
                range(product.storage_celsius_tenths_min),
                range(product.storage_celsius_tenths_max)
            ),
            Language::Chinese => format!(
                "{} 至 {} °C",
                range(product.storage_celsius_tenths_min),
                range(product.storage_celsius_tenths_max)
            ),
        };
        let kind = if product.prescription {
            PRESCRIPTION
        } else {
            OVER_THE_COUNTER
        };
        rows.extend([
            (PRODUCT, format!("{} {}", product.name, product.strength)),
            (FORM, per_pack),
            (TYPE, kind.get(language).to_string()),
            (STORAGE, storage),
            (APPROVAL_NUMBER, product.approval_number.clone()),
            (MANUFACTURER, product.manufacturer.clone()),
        ]);
    }
    rows.push((GTIN, statement.pack.gtin.clone()));
    rows.push((SERIAL, statement.pack.serial.clone()));
    if let Some(lot) = &statement.lot {
        rows.push((LOT, lot.clone()));
    }
    if let Some(expiry) = &statement.expiry {
        rows.push((EXPIRY, yymmdd(language, expiry)));
    }
    rows
}

/// What the page shows, besides the bundle.
#[derive(Debug)]
pub struct PageContext<'a> {
    pub language: Language,
    pub scans: &'a ScanRecord,
    /// Organization id → its name, roles and place, from the registry.
    pub organizations: &'a HashMap<String, OrganizationLabel>,
    /// The page's query parameters the language switch keeps (`17=YYMMDD`).
    pub kept_parameters: &'a [String],
}

/// The page's HTML.
pub fn render(bundle: &ProofBundle, statement: &Statement, context: &PageContext<'_>) -> String {
    let language = context.language;
    let (tone, title) = verdict_look(statement.verdict.code);
    let title = title.get(language);
    let scans = context.scans;
    let places = scans.places.len();
    let many = scans.count > MANY_SCANS_MIN && places > MANY_PLACES_MIN;
    let scans_text = match language {
        Language::English => format!(
            "This code was checked {} time(s) through this node, from {places} place(s).",
            scans.count
        ),
        Language::Chinese => format!(
            "此追溯码已通过本节点查询 {} 次，来自 {places} 个地点。",
            scans.count
        ),
    };
    let timeline: Markup = html! {
        @for item in &statement.timeline {
            @let (name, role) = context
                .organizations
                .get(&item.organization)
                .map(|label| (label.name.clone(), role_line(label, language)))
                .unwrap_or_else(|| (item.organization.clone(), String::new()));
            li {
                div.when { (date_time(language, item.time_ms)) }
                div.what { (step_text(&item.step, language, context.organizations)) }
                div.who { (name) " " span.role { (role) } }
                div.block { (BLOCK.get(language)) " " (item.height) }
            }
        }
        @if statement.timeline.is_empty() {
            li { div.what { (NO_EVENTS.get(language)) } }
        }
    };
    let proof: Markup = match language {
        Language::English => html! {
            "Every step above is a transaction on chain " b { (bundle.body.chain_id) }
            ", final at block " (bundle.body.head_height) " with the validators' signatures. "
            a href="?format=json" { (DOWNLOAD.get(language)) }
            " and check it offline with "
            code { "rxchain verify BUNDLE.json --genesis GENESIS.toml" } "."
        },
        Language::Chinese => html! {
            "以上每一步都是链 " b { (bundle.body.chain_id) } " 上的交易，在区块 "
            (bundle.body.head_height) " 由验证节点签名确认为最终。"
            a href="?format=json" { (DOWNLOAD.get(language)) }
            "，并用 " code { "rxchain verify BUNDLE.json --genesis GENESIS.toml" } " 离线核验。"
        },
    };
    let body = html! {
        div class={ "verdict " (tone) } {
            h1 { (title) }
            p { (summary(statement, language)) }
        }
        section {
            h2 { (THIS_PACK.get(language)) }
            table {
                @for (label, value) in facts(statement, language) {
                    tr { th { (label.get(language)) } td { (value) } }
                }
            }
        }
        section { h2 { (WHERE_IT_HAS_BEEN.get(language)) } ol { (timeline) } }
        section {
            h2 { (SCANS.get(language)) }
            p.small { (scans_text) @if many { (MANY_SCANS.get(language)) } }
        }
        section { h2 { (PROOF.get(language)) } p.small { (proof) } }
    };
    let page_title = format!("{title} — {}", TITLE_SUFFIX.get(language));
    layout(Page {
        language,
        title: &page_title,
        kept_parameters: context.kept_parameters,
        body,
    })
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_organization_role_has_its_words_in_both_languages() {
        let table: Vec<u32> = ORGANIZATION_ROLES.iter().map(|(bit, _)| *bit).collect();
        let registry: Vec<u32> = roles::organization::NAMES
            .iter()
            .map(|(_, bit)| *bit)
            .collect();
        assert_eq!(table, registry, "one entry per registry role, in bit order");
        for ((_, text), (name, _)) in ORGANIZATION_ROLES.iter().zip(&roles::organization::NAMES) {
            assert_eq!(text.en, *name, "English as the registry writes it");
            assert!(!text.zh.is_ascii(), "{name} has Chinese words");
        }
    }

    #[test]
    fn a_role_line_speaks_the_page_language() {
        let label = OrganizationLabel {
            name: "华信制药".into(),
            roles: roles::organization::MANUFACTURER | roles::organization::DISTRIBUTOR,
            location: "Shanghai".into(),
        };
        assert_eq!(
            role_line(&label, Language::English),
            "manufacturer, distributor · Shanghai"
        );
        assert_eq!(
            role_line(&label, Language::Chinese),
            "生产企业、批发企业 · Shanghai"
        );
        let unplaced = OrganizationLabel {
            location: String::new(),
            roles: roles::organization::PHARMACY,
            ..label
        };
        assert_eq!(role_line(&unplaced, Language::Chinese), "零售药店");
    }
}
