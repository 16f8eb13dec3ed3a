//! The demo's supply-chain story, told as real signed transactions to a running node.
//!
//! Huaxin Pharmaceutical registers two products and commissions serialized packs; it ships them
//! to Kangda Distribution, which ships most on to Anxin Online Pharmacy and some to Renmin
//! Hospital; both receive, and dispense a few packs to patients.

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use rxchain_genesis::dev::DevConsortium;
use rxchain_genesis::keystore::read_key;
use rxchain_node::Node;
use rxchain_node::receipt::ReceiptStatus;
use rxchain_node::transaction::TransactionBody;
use rxchain_trace_types::{
    self as trace, CommissionArgs, PackId, Product, ShipArgs, ShipmentIdArgs,
};
use std::collections::HashMap;
use std::time::Duration;

pub const MANUFACTURER: &str = "huaxin-pharma";
pub const DISTRIBUTOR: &str = "kangda-distribution";
pub const PHARMACY: &str = "anxin-pharmacy";
pub const HOSPITAL: &str = "renmin-hospital";

/// Longest the story waits for one step's transactions.
const STEP_TIMEOUT_MS: u64 = 30_000;
/// Blocks a story transaction stays valid for.
const EXPIRY_BLOCKS: u64 = 1_000;

/// Appends the GS1 check digit to 13 digits.
pub fn gtin14(first_thirteen: &str) -> String {
    assert_eq!(
        first_thirteen.len(),
        13,
        "a GTIN-14 has 13 digits before its check digit"
    );
    let check = trace::gs1_check_digit(first_thirteen.as_bytes());
    format!("{first_thirteen}{check}")
}

/// A pack of the story and what happened to it.
#[derive(Clone, Debug)]
pub struct StoryPack {
    pub id: PackId,
    pub product: String,
    pub lot: String,
    pub expiry: String,
    /// Where it ended: `dispensed at …` or `in stock at …`.
    pub fate: String,
}

/// Signs and submits transactions for several organizations, keeping each one's nonce.
#[derive(Debug)]
pub struct Teller<'a> {
    node: &'a Node,
    keys: HashMap<String, SigningKey>,
    nonces: HashMap<String, u64>,
}

impl<'a> Teller<'a> {
    pub fn new(node: &'a Node, consortium: &DevConsortium, organizations: &[&str]) -> Result<Self> {
        let mut keys = HashMap::new();
        let mut nonces = HashMap::new();
        for organization in organizations {
            let key = read_key(&consortium.member_key(organization))?.signing_key;
            let nonce = node.storage().next_nonce(&key.verifying_key().to_bytes())?;
            keys.insert(organization.to_string(), key);
            nonces.insert(organization.to_string(), nonce);
        }
        Ok(Teller { node, keys, nonces })
    }

    /// Submits one call; returns its id.
    pub fn send<T: borsh::BorshSerialize>(
        &mut self,
        organization: &str,
        method: &str,
        args: &T,
    ) -> Result<[u8; 32]> {
        let key = &self.keys[organization];
        let nonce = self
            .nonces
            .get_mut(organization)
            .expect("known organization");
        let body = TransactionBody::call(
            &self.node.genesis().chain_id,
            key,
            *nonce,
            self.node.head().height + EXPIRY_BLOCKS,
            trace::CONTRACT_ID,
            method,
            borsh::to_vec(args)?,
        );
        let id = self
            .node
            .submit(&body.sign(key).encode())
            .with_context(|| format!("{organization} {method}"))?;
        *nonce += 1;
        Ok(id)
    }

    /// Waits for every id to commit and fails on any failed receipt.
    pub async fn settle(&self, ids: &[[u8; 32]]) -> Result<()> {
        for id in ids {
            let committed = self
                .node
                .wait_for_commit(id, Duration::from_millis(STEP_TIMEOUT_MS))
                .await?;
            match committed {
                Some((_, receipt)) => {
                    if let ReceiptStatus::Failed { code, message }
                    | ReceiptStatus::Refused { code, message } = receipt.status
                    {
                        bail!(
                            "story transaction {} failed: {code}: {message}",
                            hex::encode(id)
                        );
                    }
                }
                None => bail!(
                    "story transaction {} was not committed in time",
                    hex::encode(id)
                ),
            }
        }
        Ok(())
    }
}

/// Tells the story; returns the packs and what became of them.
///
/// Long because it is the story itself, one supply-chain step after another.
pub async fn tell(node: &Node, consortium: &DevConsortium) -> Result<Vec<StoryPack>> {
    let mut teller = Teller::new(
        node,
        consortium,
        &[MANUFACTURER, DISTRIBUTOR, PHARMACY, HOSPITAL],
    )?;
    let amoxicillin = gtin14("0950600013435");
    let ibuprofen = gtin14("0950600013442");
    let amoxicillin_product = Product {
        gtin: amoxicillin.clone(),
        name: "Amoxicillin Capsules".into(),
        strength: "250 mg".into(),
        dosage_form: "capsule".into(),
        pack_size: 24,
        prescription: true,
        storage_celsius_tenths_min: 100,
        storage_celsius_tenths_max: 250,
        approval_number: "H20263101".into(),
        manufacturer: String::new(),
    };
    let ibuprofen_product = Product {
        gtin: ibuprofen.clone(),
        name: "Ibuprofen Tablets".into(),
        strength: "200 mg".into(),
        dosage_form: "film-coated tablet".into(),
        pack_size: 20,
        prescription: false,
        storage_celsius_tenths_max: 300,
        approval_number: "H20263102".into(),
        ..amoxicillin_product.clone()
    };
    let products = [amoxicillin_product, ibuprofen_product];
    let mut ids = Vec::new();
    for product in &products {
        ids.push(teller.send(MANUFACTURER, "register_product", product)?);
    }
    teller.settle(&ids).await?;

    let mut packs = Vec::new();
    let mut ids = Vec::new();
    for (gtin, name, prefix, lot) in [
        (
            &amoxicillin,
            "Amoxicillin Capsules 250 mg",
            "AMX",
            "L2026A17",
        ),
        (&ibuprofen, "Ibuprofen Tablets 200 mg", "IBU", "L2026B03"),
    ] {
        for number in 1..=6 {
            let id = PackId {
                gtin: gtin.clone(),
                serial: format!("{prefix}{number:06}"),
            };
            let args = CommissionArgs {
                gtin: id.gtin.clone(),
                serial: id.serial.clone(),
                lot: lot.into(),
                expiry: "281130".into(),
            };
            ids.push(teller.send(MANUFACTURER, "commission", &args)?);
            packs.push(StoryPack {
                id,
                product: name.into(),
                lot: lot.into(),
                expiry: "281130".into(),
                fate: String::new(),
            });
        }
    }
    teller.settle(&ids).await?;

    let all: Vec<PackId> = packs.iter().map(|pack| pack.id.clone()).collect();
    let first = teller.send(
        MANUFACTURER,
        "ship",
        &ShipArgs {
            shipment_id: "SHP-2026-0001".into(),
            to: DISTRIBUTOR.into(),
            packs: all,
            containers: Vec::new(),
        },
    )?;
    teller.settle(&[first]).await?;
    let received = teller.send(
        DISTRIBUTOR,
        "receive",
        &ShipmentIdArgs {
            shipment_id: "SHP-2026-0001".into(),
        },
    )?;
    teller.settle(&[received]).await?;

    // Four of each product to the pharmacy, two of each to the hospital.
    let (to_pharmacy, to_hospital): (Vec<_>, Vec<_>) = packs
        .iter()
        .enumerate()
        .partition(|(index, _)| index % 6 < 4);
    let to_pharmacy: Vec<PackId> = to_pharmacy
        .into_iter()
        .map(|(_, pack)| pack.id.clone())
        .collect();
    let to_hospital: Vec<PackId> = to_hospital
        .into_iter()
        .map(|(_, pack)| pack.id.clone())
        .collect();
    let shipments = [
        teller.send(
            DISTRIBUTOR,
            "ship",
            &ShipArgs {
                shipment_id: "SHP-2026-0002".into(),
                to: PHARMACY.into(),
                packs: to_pharmacy.clone(),
                containers: Vec::new(),
            },
        )?,
        teller.send(
            DISTRIBUTOR,
            "ship",
            &ShipArgs {
                shipment_id: "SHP-2026-0003".into(),
                to: HOSPITAL.into(),
                packs: to_hospital.clone(),
                containers: Vec::new(),
            },
        )?,
    ];
    teller.settle(&shipments).await?;
    let receipts = [
        teller.send(
            PHARMACY,
            "receive",
            &ShipmentIdArgs {
                shipment_id: "SHP-2026-0002".into(),
            },
        )?,
        teller.send(
            HOSPITAL,
            "receive",
            &ShipmentIdArgs {
                shipment_id: "SHP-2026-0003".into(),
            },
        )?,
    ];
    teller.settle(&receipts).await?;

    let dispensed_by_pharmacy = [
        to_pharmacy[0].clone(),
        to_pharmacy[4].clone(),
        to_pharmacy[5].clone(),
    ];
    let dispensed_by_hospital = [to_hospital[0].clone()];
    let mut ids = Vec::new();
    for pack in &dispensed_by_pharmacy {
        ids.push(teller.send(PHARMACY, "dispense", pack)?);
    }
    for pack in &dispensed_by_hospital {
        ids.push(teller.send(HOSPITAL, "dispense", pack)?);
    }
    teller.settle(&ids).await?;

    for pack in &mut packs {
        let holder = if to_pharmacy.contains(&pack.id) {
            PHARMACY
        } else {
            HOSPITAL
        };
        let dispensed =
            dispensed_by_pharmacy.contains(&pack.id) || dispensed_by_hospital.contains(&pack.id);
        pack.fate = if dispensed {
            format!("dispensed by {holder}")
        } else {
            format!("in stock at {holder}")
        };
    }
    Ok(packs)
}
