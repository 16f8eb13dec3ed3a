//! The GS1 CBV 2.0 vocabulary of the trace steps, for EPCIS export: each [`TraceStep`] is one
//! business step and leaves the objects in one disposition. CBV has no recall or quarantine
//! step; both are `holding` with the dispositions `recalled` and `non_sellable_other`, and their
//! releases are `inspecting` with `sellable_accessible`. A return ships with the disposition
//! `returned` (CBV has no returning step either). A pack a consignee's count did not find is
//! `receiving` with the disposition `unknown`.

use super::{DecommissionReason, TraceStep};

const BUSINESS_STEP_PREFIX: &str = "urn:epcglobal:cbv:bizstep:";
const DISPOSITION_PREFIX: &str = "urn:epcglobal:cbv:disp:";

impl TraceStep {
    /// The CBV business step's bare name, e.g. `shipping`.
    pub fn cbv_business_step_name(&self) -> &'static str {
        match self {
            TraceStep::Commissioning { .. } => "commissioning",
            TraceStep::Shipping { .. } | TraceStep::Returning { .. } => "shipping",
            // The consignee's count at receiving found the pack absent.
            TraceStep::Receiving { .. } | TraceStep::MissingInTransit { .. } => "receiving",
            TraceStep::Dispensing => "dispensing",
            TraceStep::Packing { .. } => "packing",
            TraceStep::Unpacking { .. } => "unpacking",
            TraceStep::Decommissioning { .. } => "decommissioning",
            TraceStep::Quarantining { .. } | TraceStep::Recalling { .. } => "holding",
            TraceStep::ReleasingQuarantine | TraceStep::ReleasingRecall => "inspecting",
        }
    }

    /// The CBV disposition's bare name, e.g. `in_transit`.
    pub fn cbv_disposition_name(&self) -> &'static str {
        match self {
            TraceStep::Commissioning { .. } => "active",
            TraceStep::Shipping { .. } => "in_transit",
            // Nobody knows where the pack is.
            TraceStep::MissingInTransit { .. } => "unknown",
            TraceStep::Returning { .. } => "returned",
            TraceStep::Receiving { .. }
            | TraceStep::Packing { .. }
            | TraceStep::Unpacking { .. } => "in_progress",
            TraceStep::Dispensing => "dispensed",
            TraceStep::Decommissioning { reason } => match reason {
                DecommissionReason::Destroyed => "destroyed",
                DecommissionReason::Damaged => "damaged",
                DecommissionReason::Expired => "expired",
                // CBV has no sample disposition: a sample is no longer for sale.
                DecommissionReason::Sample => "non_sellable_other",
                // The pack is gone; its contents went into new packs.
                DecommissionReason::Repackaged => "inactive",
            },
            TraceStep::Quarantining { .. } => "non_sellable_other",
            TraceStep::Recalling { .. } => "recalled",
            TraceStep::ReleasingQuarantine | TraceStep::ReleasingRecall => "sellable_accessible",
        }
    }

    /// The CBV business step as a URN, e.g. `urn:epcglobal:cbv:bizstep:shipping`.
    pub fn cbv_business_step(&self) -> alloc::string::String {
        alloc::format!("{BUSINESS_STEP_PREFIX}{}", self.cbv_business_step_name())
    }

    /// The CBV disposition as a URN, e.g. `urn:epcglobal:cbv:disp:in_transit`.
    pub fn cbv_disposition(&self) -> alloc::string::String {
        alloc::format!("{DISPOSITION_PREFIX}{}", self.cbv_disposition_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn steps_use_cbv_words() {
        let shipping = TraceStep::Shipping {
            shipment_id: "S1".to_string(),
            to: "b".to_string(),
        };
        assert_eq!(
            shipping.cbv_business_step(),
            "urn:epcglobal:cbv:bizstep:shipping"
        );
        assert_eq!(
            shipping.cbv_disposition(),
            "urn:epcglobal:cbv:disp:in_transit"
        );
        let recall = TraceStep::Recalling {
            reason: "x".to_string(),
        };
        assert_eq!(recall.cbv_business_step_name(), "holding");
        assert_eq!(recall.cbv_disposition_name(), "recalled");
    }
}
