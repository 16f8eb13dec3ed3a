//! Alerts: suspicious requests recorded for the regulator. Each is `alert/<id>` (ids from 1 in
//! the order raised) and an event under the topics `alert` and `alert:<organization>`. The open
//! ones form a doubly linked list (`alert_links/<id>`, ends in `alert_book`), so raising and
//! closing are O(1) and a page of open alerts costs only its own length; there is no bound on
//! how many may be open.

use crate::Actor;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rxchain_contract_types::abi::{ABORT_MESSAGE_BYTES_MAX, error_code};
use rxchain_contract_types::roles::{member, organization};
use rxchain_sdk::{
    abort, block_height, block_time_ms, emit, input, storage_get, storage_remove, storage_set,
};
use rxchain_trace_types::{
    Alert, AlertBook, AlertIdArgs, AlertKind, AlertLinks, ContractEvent, OPEN_ALERTS_PAGE_MAX,
    OpenAlerts, OpenAlertsArgs, PackId, keys, topics,
};

/// What an alert is about; [`raise`] adds who, when and the id.
pub struct Suspicion {
    pub kind: AlertKind,
    pub pack: Option<PackId>,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub shipment_id: Option<String>,
    pub container: Option<String>,
    pub detail: String,
}

impl Suspicion {
    pub fn new(kind: AlertKind, detail: String) -> Suspicion {
        Suspicion {
            kind,
            pack: None,
            gtin: None,
            lot: None,
            shipment_id: None,
            container: None,
            detail,
        }
    }

    /// About a pack of a lot.
    pub fn about_pack(mut self, pack: &PackId, lot: &str) -> Suspicion {
        self.pack = Some(pack.clone());
        self.gtin = Some(pack.gtin.clone());
        self.lot = Some(String::from(lot));
        self
    }

    pub fn in_shipment(mut self, shipment_id: &str) -> Suspicion {
        self.shipment_id = Some(String::from(shipment_id));
        self
    }

    pub fn in_container(mut self, sscc: Option<&str>) -> Suspicion {
        self.container = sscc.map(String::from);
        self
    }
}

/// Records the alerts, each appended to the open list, and emits one event per alert.
pub fn raise(suspicions: Vec<Suspicion>, actor: &Actor) {
    let mut book: AlertBook = storage_get(keys::ALERT_BOOK).unwrap_or_default();
    let mut changed_links: BTreeMap<u64, AlertLinks> = BTreeMap::new();
    for suspicion in suspicions {
        let id = book.last_id + 1;
        let mut detail = suspicion.detail;
        if detail.len() > ABORT_MESSAGE_BYTES_MAX {
            let mut end = ABORT_MESSAGE_BYTES_MAX;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
        }
        let alert = Alert {
            id,
            kind: suspicion.kind,
            pack: suspicion.pack,
            gtin: suspicion.gtin,
            lot: suspicion.lot,
            shipment_id: suspicion.shipment_id,
            container: suspicion.container,
            organization: String::from(actor.id()),
            actor: actor.member.public_key,
            detail,
            height: block_height(),
            time_ms: block_time_ms(),
            open: true,
            closed_by: None,
        };
        if let Some(last) = book.last_open {
            links_of(&mut changed_links, last).next = Some(id);
        } else {
            book.first_open = Some(id);
        }
        links_of(&mut changed_links, id).previous = book.last_open;
        book.last_open = Some(id);
        book.last_id = id;
        book.open_count += 1;
        storage_set(&keys::alert(id), &alert);
        emit(
            &[String::from(topics::ALERT), topics::alert_for(actor.id())],
            &ContractEvent::Alert(alert),
        );
    }
    for (id, links) in changed_links {
        storage_set(&keys::alert_links(id), &links);
    }
    storage_set(keys::ALERT_BOOK, &book);
}

/// The links of `id` as changed so far in this call, read from storage the first time.
fn links_of(changed: &mut BTreeMap<u64, AlertLinks>, id: u64) -> &mut AlertLinks {
    changed
        .entry(id)
        .or_insert_with(|| storage_get(&keys::alert_links(id)).unwrap_or_default())
}

/// Records one alert and refuses the request with `code`: the alert stays on the ledger.
pub fn raise_and_refuse(suspicion: Suspicion, actor: &Actor, code: &str) -> ! {
    let message = suspicion.detail.clone();
    raise(alloc::vec![suspicion], actor);
    rxchain_sdk::refuse(code, &message)
}

pub fn find_alert(id: u64) -> Alert {
    storage_get(&keys::alert(id))
        .unwrap_or_else(|| abort(error_code::NOT_FOUND, &format!("no alert {id}")))
}

/// A regulator closes an open alert: it leaves the open list and keeps its record.
pub fn close_alert() {
    let actor = Actor::require(organization::REGULATOR, member::OPERATOR);
    let arguments: AlertIdArgs = input();
    let mut alert = find_alert(arguments.id);
    if !alert.open {
        abort(
            error_code::WRONG_STATUS,
            &format!(
                "alert {} was closed by {} already",
                alert.id,
                alert.closed_by.as_deref().unwrap_or("?")
            ),
        );
    }

    let mut book: AlertBook = storage_get(keys::ALERT_BOOK).unwrap_or_default();
    let links: AlertLinks = storage_get(&keys::alert_links(alert.id)).unwrap_or_default();
    let mut changed_links: BTreeMap<u64, AlertLinks> = BTreeMap::new();
    match links.previous {
        Some(previous) => links_of(&mut changed_links, previous).next = links.next,
        None => book.first_open = links.next,
    }
    match links.next {
        Some(next) => links_of(&mut changed_links, next).previous = links.previous,
        None => book.last_open = links.previous,
    }
    for (id, links) in changed_links {
        storage_set(&keys::alert_links(id), &links);
    }
    storage_remove(&keys::alert_links(alert.id));
    book.open_count -= 1;
    storage_set(keys::ALERT_BOOK, &book);
    alert.open = false;
    alert.closed_by = Some(String::from(actor.id()));
    storage_set(&keys::alert(alert.id), &alert);
    emit(
        &[String::from(topics::ALERT), topics::alert_for(actor.id())],
        &ContractEvent::Alert(alert),
    );
}

/// A page of open alerts in the order raised. When the alert named by `after` was closed since
/// the previous page, the page starts again from the oldest open alert and skips ids up to
/// `after`; the walk reads at most four pages' worth of alerts and says where it stopped.
pub fn open_alerts(arguments: &OpenAlertsArgs) -> OpenAlerts {
    let limit = match arguments.limit {
        0 => OPEN_ALERTS_PAGE_MAX,
        limit => limit.min(OPEN_ALERTS_PAGE_MAX),
    } as usize;
    let book: AlertBook = storage_get(keys::ALERT_BOOK).unwrap_or_default();
    let mut cursor = match arguments.after {
        None => book.first_open,
        Some(after) => match storage_get::<AlertLinks>(&keys::alert_links(after)) {
            Some(links) => links.next,
            None => book.first_open,
        },
    };
    let skip_through = arguments.after.unwrap_or(0);
    let mut alerts = Vec::new();
    let mut steps_left = limit * 4;
    let mut last_visited = None;
    while let Some(id) = cursor {
        if alerts.len() == limit || steps_left == 0 {
            break;
        }
        steps_left -= 1;
        if id > skip_through {
            alerts.push(find_alert(id));
        }
        last_visited = Some(id);
        let links: AlertLinks = storage_get(&keys::alert_links(id)).unwrap_or_default();
        cursor = links.next;
    }
    OpenAlerts {
        alerts,
        open_count: book.open_count,
        next_after: cursor.and(last_visited),
    }
}
