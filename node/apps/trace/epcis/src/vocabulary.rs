//! CBV 2.0 vocabularies: business steps, dispositions, business transaction types,
//! source/destination types, error reasons, sensor alert types and measurement components.
//!
//! A standard value has three spellings, all accepted: the bare word of the JSON-LD context
//! (`shipping`), the CBV 1.x URN (`urn:epcglobal:cbv:bizstep:shipping`) and the GS1 web URI
//! (`https://ref.gs1.org/cbv/BizStep-shipping`, or the compact `cbv:BizStep-shipping`). All
//! normalise to the bare word, which is also what the REST binding asks clients to use in
//! queries.
//!
//! Extension values (the CBV allows user vocabulary) must be URIs (RFC 3986 absolute-URI
//! syntax, as the schema's `format: uri`): an `http(s)` URI, a URN, or a compact IRI
//! (`ext1:summarising_discharge`, expanded with the document's prefixes where declared).
//! What is refused:
//! * a bare word that is not in the CBV list (`transforming`, `in_transport`): in JSON-LD it
//!   would silently become a relative IRI, and in practice it is a typo or a private code;
//! * a value in the standard's own namespaces (`urn:epcglobal:cbv:bizstep:…`,
//!   `https://ref.gs1.org/cbv/BizStep-…`) whose word is not a standard value, and anything
//!   else under `urn:epcglobal:cbv:` or `ns.gs1.org/cbv/`, which the EPCIS JSON schema
//!   reserves (its `vocab-other-uri` pattern).

use std::fmt;
use std::str::FromStr;

use crate::context::Namespaces;
use crate::error::Error;

/// One CBV vocabulary: its standard words and the prefixes that introduce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    /// The EPCIS field the vocabulary is used in, for messages.
    pub name: &'static str,
    /// Standard values, as bare words.
    pub words: &'static [&'static str],
    /// Spellings that put a standard word after them (URN, web URI, compact IRI).
    pub prefixes: &'static [&'static str],
    /// The GS1 web URI prefix a standard word is expanded with (event hash, JSON-LD).
    pub web_prefix: &'static str,
}

/// Prefixes the EPCIS JSON schema reserves for standard values: nothing else may use them.
const RESERVED_PREFIXES: [&str; 3] = [
    "urn:epcglobal:cbv:",
    "https://ns.gs1.org/cbv/",
    "http://ns.gs1.org/cbv/",
];

/// CBV 2.0 business steps (the EPCIS 2.0 JSON schema's `bizStep` enumeration).
pub const BUSINESS_STEPS: Vocabulary = Vocabulary {
    name: "bizStep",
    words: &[
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
        "sensor_reporting",
        "sampling",
    ],
    prefixes: &[
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
        "http://ref.gs1.org/cbv/BizStep-",
        "cbv:BizStep-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/BizStep-",
};

/// CBV 2.0 dispositions.
pub const DISPOSITIONS: Vocabulary = Vocabulary {
    name: "disposition",
    words: &[
        "active",
        "container_closed",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "no_pedigree_match",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unknown",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_open",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "non_conformant",
        "unavailable",
    ],
    prefixes: &[
        "urn:epcglobal:cbv:disp:",
        "https://ref.gs1.org/cbv/Disp-",
        "http://ref.gs1.org/cbv/Disp-",
        "cbv:Disp-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/Disp-",
};

/// CBV 2.0 business transaction types.
pub const BUSINESS_TRANSACTION_TYPES: Vocabulary = Vocabulary {
    name: "bizTransaction type",
    words: &[
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ],
    prefixes: &[
        "urn:epcglobal:cbv:btt:",
        "https://ref.gs1.org/cbv/BTT-",
        "http://ref.gs1.org/cbv/BTT-",
        "cbv:BTT-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/BTT-",
};

/// CBV 2.0 source/destination types.
pub const SOURCE_DESTINATION_TYPES: Vocabulary = Vocabulary {
    name: "source/destination type",
    words: &["owning_party", "possessing_party", "location"],
    prefixes: &[
        "urn:epcglobal:cbv:sdt:",
        "https://ref.gs1.org/cbv/SDT-",
        "http://ref.gs1.org/cbv/SDT-",
        "cbv:SDT-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/SDT-",
};

/// CBV 2.0 error reasons (error declarations).
pub const ERROR_REASONS: Vocabulary = Vocabulary {
    name: "errorDeclaration reason",
    words: &["did_not_occur", "incorrect_data"],
    prefixes: &[
        "urn:epcglobal:cbv:er:",
        "https://ref.gs1.org/cbv/ER-",
        "http://ref.gs1.org/cbv/ER-",
        "cbv:ER-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/ER-",
};

/// GS1 Web Vocabulary sensor alert types (`sensorReport.exception`).
pub const SENSOR_ALERT_TYPES: Vocabulary = Vocabulary {
    name: "sensorReport exception",
    words: &["ALARM_CONDITION", "ERROR_CONDITION"],
    prefixes: &["https://gs1.org/voc/", "http://gs1.org/voc/", "gs1:"],
    web_prefix: "https://gs1.org/voc/",
};

/// CBV 2.0 measurement components (`sensorReport.component`).
pub const COMPONENTS: Vocabulary = Vocabulary {
    name: "sensorReport component",
    words: &[
        "x",
        "y",
        "z",
        "axial_distance",
        "azimuth",
        "height",
        "spherical_radius",
        "polar_angle",
        "elevation_angle",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "altitude",
    ],
    prefixes: &[
        "urn:epcglobal:cbv:comp:",
        "https://ref.gs1.org/cbv/Comp-",
        "http://ref.gs1.org/cbv/Comp-",
        "cbv:Comp-",
    ],
    web_prefix: "https://ref.gs1.org/cbv/Comp-",
};

/// GS1 Web Vocabulary measurement types (`sensorReport.type`).
pub const MEASUREMENT_TYPES: Vocabulary = Vocabulary {
    name: "sensorReport type",
    words: &[
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Radioactivity",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ],
    prefixes: &["https://gs1.org/voc/", "http://gs1.org/voc/", "gs1:"],
    web_prefix: "https://gs1.org/voc/",
};

/// Why a vocabulary value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabularyProblem {
    /// A bare word, or a word in a standard spelling, that the CBV does not define.
    NotStandard,
    /// Text that is neither a standard value nor a usable extension IRI.
    InvalidExtension,
}

/// A value of a CBV vocabulary: a standard word or a user extension IRI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VocabularyValue {
    /// A standard value, as its bare word.
    Standard(&'static str),
    /// A user extension, as written (absolute IRI or compact IRI with a declared prefix).
    Extension(String),
}

impl VocabularyValue {
    /// Parses any spelling, with the prefixes in scope for compact IRIs.
    pub fn parse(
        vocabulary: &Vocabulary,
        text: &str,
        namespaces: &Namespaces,
    ) -> Result<VocabularyValue, (VocabularyProblem, String)> {
        let standard = |word: &str| {
            vocabulary
                .words
                .iter()
                .copied()
                .find(|known| *known == word)
        };
        if !text.contains(':') {
            return standard(text)
                .map(VocabularyValue::Standard)
                .ok_or_else(|| {
                    (
                        VocabularyProblem::NotStandard,
                        format!(
                            "{text:?} is not a CBV 2.0 {} value; extension values must be IRIs",
                            vocabulary.name
                        ),
                    )
                });
        }
        for prefix in vocabulary.prefixes {
            if let Some(word) = text.strip_prefix(prefix) {
                return standard(word).map(VocabularyValue::Standard).ok_or_else(|| {
                    (
                        VocabularyProblem::NotStandard,
                        format!(
                            "{text:?} uses the CBV namespace but {word:?} is not a CBV 2.0 {} value",
                            vocabulary.name
                        ),
                    )
                });
            }
        }
        if RESERVED_PREFIXES
            .iter()
            .any(|reserved| text.starts_with(reserved))
        {
            return Err((
                VocabularyProblem::NotStandard,
                format!(
                    "{text:?} is in a namespace reserved for standard CBV values, but is not a {} value",
                    vocabulary.name
                ),
            ));
        }
        namespaces
            .check_uri_value(text)
            .map(|()| VocabularyValue::Extension(text.to_owned()))
            .map_err(|reason| (VocabularyProblem::InvalidExtension, reason))
    }

    /// The bare word of a standard value, or the extension as written.
    pub fn as_str(&self) -> &str {
        match self {
            VocabularyValue::Standard(word) => word,
            VocabularyValue::Extension(text) => text,
        }
    }

    /// The full IRI: the GS1 web URI of a standard value, an extension expanded with the
    /// prefixes in scope.
    pub fn to_iri(&self, vocabulary: &Vocabulary, namespaces: &Namespaces) -> String {
        match self {
            VocabularyValue::Standard(word) => format!("{}{word}", vocabulary.web_prefix),
            VocabularyValue::Extension(text) => namespaces.expand(text),
        }
    }

    /// Whether this is a standard CBV value.
    pub fn is_standard(&self) -> bool {
        matches!(self, VocabularyValue::Standard(_))
    }
}

impl fmt::Display for VocabularyValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

macro_rules! vocabulary_type {
    ($(#[$documentation:meta])* $name:ident, $vocabulary:expr) => {
        $(#[$documentation])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub VocabularyValue);

        impl $name {
            /// The vocabulary this type draws from.
            pub const VOCABULARY: Vocabulary = $vocabulary;

            /// Parses any spelling, resolving compact IRIs with `namespaces`.
            pub fn parse_with_namespaces(
                text: &str,
                namespaces: &Namespaces,
            ) -> Result<$name, Error> {
                VocabularyValue::parse(&Self::VOCABULARY, text, namespaces)
                    .map($name)
                    .map_err(|(problem, message)| Error::InvalidVocabularyValue {
                        vocabulary: Self::VOCABULARY.name,
                        problem,
                        message,
                    })
            }

            /// The bare word of a standard value, or the extension IRI as written.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The full IRI (GS1 web URI for standard values).
            pub fn to_iri(&self, namespaces: &Namespaces) -> String {
                self.0.to_iri(&Self::VOCABULARY, namespaces)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Any of the three standard spellings, or an extension IRI; compact IRIs resolve
            /// only with the standard prefixes (use `parse_with_namespaces` for a document's).
            fn from_str(text: &str) -> Result<$name, Error> {
                $name::parse_with_namespaces(text, &Namespaces::default())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

vocabulary_type!(
    /// A CBV business step (`bizStep`).
    BusinessStep,
    BUSINESS_STEPS
);
vocabulary_type!(
    /// A CBV disposition (`disposition`, `persistentDisposition`).
    Disposition,
    DISPOSITIONS
);
vocabulary_type!(
    /// A CBV business transaction type.
    BusinessTransactionType,
    BUSINESS_TRANSACTION_TYPES
);
vocabulary_type!(
    /// A CBV source or destination type.
    SourceDestinationType,
    SOURCE_DESTINATION_TYPES
);
vocabulary_type!(
    /// A CBV error declaration reason.
    ErrorReason,
    ERROR_REASONS
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_spellings_normalise_to_the_bare_word() {
        for text in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "cbv:BizStep-shipping",
        ] {
            let step: BusinessStep = text.parse().unwrap();
            assert_eq!(step.as_str(), "shipping", "{text}");
            assert_eq!(step.0, VocabularyValue::Standard("shipping"));
        }
        for text in [
            "in_transit",
            "urn:epcglobal:cbv:disp:in_transit",
            "https://ref.gs1.org/cbv/Disp-in_transit",
        ] {
            assert_eq!(text.parse::<Disposition>().unwrap().as_str(), "in_transit");
        }
        assert_eq!(
            "shipping"
                .parse::<BusinessStep>()
                .unwrap()
                .to_iri(&Namespaces::default()),
            "https://ref.gs1.org/cbv/BizStep-shipping"
        );
    }

    #[test]
    fn non_standard_words_are_refused() {
        for text in [
            "transforming",
            "Shipping",
            "urn:epcglobal:cbv:bizstep:transforming",
            "https://ref.gs1.org/cbv/BizStep-transforming",
            "urn:epcglobal:cbv:disp:in_transit",
            "https://ns.gs1.org/cbv/whatever",
        ] {
            assert!(text.parse::<BusinessStep>().is_err(), "{text} accepted");
        }
        assert!("in_transport".parse::<Disposition>().is_err());
        assert!(
            "urn:epcglobal:cbv:disp:in_transport"
                .parse::<Disposition>()
                .is_err()
        );
    }

    #[test]
    fn extensions_must_be_iris() {
        let step: BusinessStep = "http://epcis.example.org/hc/bizstep/summarising_discharge"
            .parse()
            .unwrap();
        assert!(!step.0.is_standard());
        assert!(
            "urn:example:bizstep:counting"
                .parse::<BusinessStep>()
                .is_ok()
        );
        // Any absolute URI, compact or not, is an extension value; declared prefixes expand.
        assert!("ext1:summarising_discharge".parse::<BusinessStep>().is_ok());
        assert!("in transport:x".parse::<Disposition>().is_err());
        let namespaces =
            Namespaces::from_context(&[serde_json::json!({"ext1": "http://example.com/ext1/"})]);
        let step =
            BusinessStep::parse_with_namespaces("ext1:summarising_discharge", &namespaces).unwrap();
        assert_eq!(
            step.to_iri(&namespaces),
            "http://example.com/ext1/summarising_discharge"
        );
        // A CURIE in the cbv namespace that is not one of the vocabulary's own spellings is
        // an extension (CurieString_document.json uses `cbv:my_own_party` as a type).
        assert!("cbv:my_own_party".parse::<SourceDestinationType>().is_ok());
    }
}
