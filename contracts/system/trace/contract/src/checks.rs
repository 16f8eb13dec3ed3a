//! The trace contract's argument checks and record look-ups, each aborting with a stable code
//! and a message that names what failed.

use alloc::format;
use alloc::string::String;
use rxchain_contract_types::abi::error_code;
use rxchain_sdk::{abort, storage_get};
use rxchain_trace_types::{
    CommissionArgs, Container, ContainerStatus, LOT_CHARACTERS_MAX, PRODUCT_TEXT_CHARACTERS_MAX,
    Pack, PackId, PackStatus, Product, REASON_CHARACTERS_MAX, SERIAL_CHARACTERS_MAX,
    SHIPMENT_ID_CHARACTERS_MAX, Shipment, is_valid_gs1_text, is_valid_gtin14, is_valid_sscc,
    is_valid_yymmdd, keys,
};

pub fn invalid(message: String) -> ! {
    abort(error_code::INVALID_ARGUMENT, &message)
}

/// `gtin/serial`, as people and topics write a pack.
pub fn pack_name(id: &PackId) -> String {
    format!("{}/{}", id.gtin, id.serial)
}

pub fn gtin(gtin: &str) {
    if !is_valid_gtin14(gtin) {
        invalid(format!(
            "'{gtin}' is not a GTIN-14 (14 digits with a valid check digit)"
        ));
    }
}

pub fn product(product: &Product) {
    gtin(&product.gtin);
    if product.name.trim().is_empty() {
        invalid(format!("product {} has no name", product.gtin));
    }
    let texts = [
        ("name", &product.name),
        ("strength", &product.strength),
        ("dosage_form", &product.dosage_form),
        ("approval_number", &product.approval_number),
    ];
    for (field, text) in texts {
        if text.chars().count() > PRODUCT_TEXT_CHARACTERS_MAX {
            invalid(format!(
                "product {} field {field} is longer than {PRODUCT_TEXT_CHARACTERS_MAX} characters",
                product.gtin
            ));
        }
    }
    if product.storage_celsius_tenths_min > product.storage_celsius_tenths_max {
        invalid(format!(
            "product {} storage range is empty: minimum {} above maximum {} (tenths of a degree)",
            product.gtin, product.storage_celsius_tenths_min, product.storage_celsius_tenths_max
        ));
    }
}

pub fn serial(serial: &str) {
    if !is_valid_gs1_text(serial, SERIAL_CHARACTERS_MAX) {
        invalid(format!(
            "serial '{serial}' is not 1 to {SERIAL_CHARACTERS_MAX} GS1 characters"
        ));
    }
}

pub fn lot(lot: &str) {
    if !is_valid_gs1_text(lot, LOT_CHARACTERS_MAX) {
        invalid(format!(
            "lot '{lot}' is not 1 to {LOT_CHARACTERS_MAX} GS1 characters"
        ));
    }
}

/// A pack id as it could have been commissioned: counted packs that are not on the ledger end
/// up in alerts, whose size this bounds.
pub fn pack_id(id: &PackId) {
    gtin(&id.gtin);
    serial(&id.serial);
}

pub fn sscc(sscc: &str) {
    if !is_valid_sscc(sscc) {
        invalid(format!(
            "'{sscc}' is not an SSCC (18 digits with a valid check digit)"
        ));
    }
}

/// A recall's or quarantine's reason: some words, not too many.
pub fn reason(reason: &str) {
    if reason.trim().is_empty() || reason.chars().count() > REASON_CHARACTERS_MAX {
        invalid(format!(
            "a reason is 1 to {REASON_CHARACTERS_MAX} characters, this one {}",
            reason.chars().count()
        ));
    }
}

pub fn commission(arguments: &CommissionArgs) {
    gtin(&arguments.gtin);
    serial(&arguments.serial);
    lot(&arguments.lot);
    if !is_valid_yymmdd(&arguments.expiry) {
        invalid(format!(
            "expiry '{}' is not a YYMMDD date",
            arguments.expiry
        ));
    }
}

/// Shipment ids become storage keys and topics, so they are printable GS1 characters.
pub fn shipment_id(id: &str) {
    if !is_valid_gs1_text(id, SHIPMENT_ID_CHARACTERS_MAX) {
        invalid(format!(
            "shipment id '{id}' is not 1 to {SHIPMENT_ID_CHARACTERS_MAX} GS1 characters"
        ));
    }
}

pub fn find_pack(id: &PackId) -> Pack {
    storage_get(&keys::pack(id)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("pack {} was never commissioned", pack_name(id)),
        )
    })
}

pub fn find_product(gtin: &str) -> Product {
    crate::product(gtin).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("product {gtin} is not registered"),
        )
    })
}

pub fn find_container(sscc: &str) -> Container {
    storage_get(&keys::container(sscc)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("container {sscc} was never packed"),
        )
    })
}

pub fn find_shipment(id: &str) -> Shipment {
    storage_get(&keys::shipment(id))
        .unwrap_or_else(|| abort(error_code::NOT_FOUND, &format!("no shipment {id}")))
}

/// Aborts with `already_dispensed` when the pack was dispensed.
pub fn not_dispensed(pack: &Pack) {
    if let PackStatus::Dispensed { height, .. } = pack.status {
        abort(
            error_code::ALREADY_DISPENSED,
            &format!(
                "pack {} was dispensed by {} at height {height}",
                pack_name(&pack.id),
                pack.custodian
            ),
        );
    }
}

/// Aborts with `wrong_status` when the pack was decommissioned.
pub fn not_decommissioned(pack: &Pack) {
    if let PackStatus::Decommissioned { reason, height, .. } = &pack.status {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "pack {} was decommissioned ({reason:?}) by {} at height {height}",
                pack_name(&pack.id),
                pack.custodian
            ),
        );
    }
}

/// Aborts with `wrong_status` when the pack is inside a container: the container moves it.
pub fn not_contained(pack: &Pack) {
    if let Some(parent) = &pack.parent {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "pack {} is inside container {parent}; unpack it first",
                pack_name(&pack.id)
            ),
        );
    }
}

/// Aborts unless `organization_id` holds the container, packed and in stock, and it is not
/// inside another container.
pub fn loose_container_with(container: &Container, organization_id: &str) {
    container_in_stock_with(container, organization_id);
    if let Some(parent) = &container.parent {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "container {} is inside container {parent}; unpack that first",
                container.sscc
            ),
        );
    }
}

/// Aborts unless `organization_id` holds the container and it is packed and in stock.
pub fn container_in_stock_with(container: &Container, organization_id: &str) {
    if container.custodian != organization_id {
        abort(
            error_code::NOT_CUSTODIAN,
            &format!(
                "container {} is held by {}, not {organization_id}",
                container.sscc, container.custodian
            ),
        );
    }
    match &container.status {
        ContainerStatus::InStock => {}
        ContainerStatus::InTransit { shipment_id } => abort(
            error_code::WRONG_STATUS,
            &format!(
                "container {} is in transit in shipment {shipment_id}",
                container.sscc
            ),
        ),
        ContainerStatus::Unpacked { height, .. } => abort(
            error_code::WRONG_STATUS,
            &format!(
                "container {} was unpacked at height {height}",
                container.sscc
            ),
        ),
    }
}

/// Aborts unless `organization_id` holds the pack and it is in stock there.
pub fn in_stock_with(pack: &Pack, organization_id: &str) {
    if pack.custodian != organization_id {
        abort(
            error_code::NOT_CUSTODIAN,
            &format!(
                "pack {} is held by {}, not {organization_id}",
                pack_name(&pack.id),
                pack.custodian
            ),
        );
    }
    not_dispensed(pack);
    not_decommissioned(pack);
    if let PackStatus::InTransit { shipment_id } = &pack.status {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "pack {} is in transit in shipment {shipment_id}",
                pack_name(&pack.id)
            ),
        );
    }
}

/// Aborts unless the pack is in transit in `shipment`, still held by its sender. Shipping and
/// receiving keep this true; the check guards the custody record against any other path.
pub fn in_transit_in(pack: &Pack, shipment: &Shipment) {
    let in_this_shipment = matches!(
        &pack.status,
        PackStatus::InTransit { shipment_id } if *shipment_id == shipment.id
    );
    if !in_this_shipment || pack.custodian != shipment.from {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "pack {} held by {} is not in transit in shipment {} from {}",
                pack_name(&pack.id),
                pack.custodian,
                shipment.id,
                shipment.from
            ),
        );
    }
}

/// Aborts unless `organization` manufactures `product`: only the maker commissions its packs or
/// names its codes.
pub fn require_manufacturer(product: &Product, organization: &str) {
    if product.manufacturer != organization {
        abort(
            error_code::UNAUTHORIZED,
            &format!(
                "product {} is manufactured by {}, not {organization}",
                product.gtin, product.manufacturer
            ),
        );
    }
}
