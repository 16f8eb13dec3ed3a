//! The JSON-LD `@context` of EPCIS documents, without fetching anything.
//!
//! Every EPCIS 2.0 document names the GS1 context by URL. GS1's own examples use the
//! versioned URL, openepcis the unversioned one; both mean the context bundled in
//! `shared/conformance/epcis/context` (the unversioned URL redirects to the current 2.0.x
//! file). Other context URLs are refused: resolving them would mean fetching from the network
//! at capture time, and an unknown context could redefine the standard terms. Inline context
//! objects are allowed; their string-valued entries declare namespace prefixes for user
//! extensions (`"example": "http://ns.example.com/epcis/"`).

use std::collections::BTreeMap;

/// The versioned EPCIS 2.0.0 context URL.
pub const EPCIS_CONTEXT_URL_VERSIONED: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The unversioned EPCIS context URL.
pub const EPCIS_CONTEXT_URL: &str = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";

/// Whether `url` names the bundled GS1 EPCIS context.
pub fn is_standard_context_url(url: &str) -> bool {
    url == EPCIS_CONTEXT_URL_VERSIONED || url == EPCIS_CONTEXT_URL
}

/// Prefixes the GS1 EPCIS context itself defines, with their IRIs.
pub const STANDARD_PREFIXES: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// URI schemes accepted as absolute IRIs in keys and vocabulary values without a declared
/// prefix. Anything else with a colon is read as a compact IRI (`prefix:suffix`), whose prefix
/// must be declared, so that a typo such as `exmaple:field` is caught rather than stored as
/// an IRI with the scheme `exmaple`.
pub const ABSOLUTE_IRI_SCHEMES: [&str; 5] = ["http", "https", "urn", "tag", "ni"];

/// Namespace prefixes in scope for a document or event: the standard ones plus those its
/// `@context` declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    declared: BTreeMap<String, String>,
}

impl Namespaces {
    /// Prefixes declared by inline context objects (string values only; term definitions
    /// such as `{"@type": "@id"}` declare no prefix).
    pub fn from_context(context: &[serde_json::Value]) -> Namespaces {
        let mut declared = BTreeMap::new();
        for entry in context {
            if let serde_json::Value::Object(object) = entry {
                for (prefix, iri) in object {
                    if let serde_json::Value::String(iri) = iri
                        && !prefix.starts_with('@')
                        && !prefix.contains(':')
                    {
                        declared.insert(prefix.clone(), iri.clone());
                    }
                }
            }
        }
        Namespaces { declared }
    }

    /// These prefixes plus those an inner `@context` (an event's own) declares; the inner
    /// declarations win, as in JSON-LD.
    pub fn extended(&self, context: &[serde_json::Value]) -> Namespaces {
        let mut declared = self.declared.clone();
        declared.extend(Namespaces::from_context(context).declared);
        Namespaces { declared }
    }

    /// Prefixes declared by the document (not the standard ones).
    pub fn declared(&self) -> &BTreeMap<String, String> {
        &self.declared
    }

    /// The IRI a prefix stands for, declared or standard.
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        self.declared.get(prefix).map(String::as_str).or_else(|| {
            STANDARD_PREFIXES
                .iter()
                .find(|(standard, _)| *standard == prefix)
                .map(|(_, iri)| *iri)
        })
    }

    /// A compact IRI expanded with the prefixes in scope; other text unchanged.
    pub fn expand(&self, text: &str) -> String {
        if let Some((prefix, suffix)) = text.split_once(':')
            && !suffix.starts_with("//")
            && let Some(iri) = self.resolve(prefix)
        {
            return format!("{iri}{suffix}");
        }
        text.to_owned()
    }

    /// Whether `text` may be used as a key (user extension fields, `ilmd`): an absolute IRI
    /// (`http(s)`, `urn`, `tag`) or a compact IRI whose prefix is in scope. Keys are held to
    /// declared prefixes because a key with a forgotten context entry would be stored under
    /// a meaningless IRI and never found again. Returns the reason when it is not.
    pub fn check_iri(&self, text: &str) -> Result<(), String> {
        let scheme = check_uri_syntax(text)?;
        if self.resolve(scheme).is_some()
            || ABSOLUTE_IRI_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
        {
            return Ok(());
        }
        Err(format!(
            "{text:?}: prefix {scheme:?} is not declared in @context (and is not an IRI scheme accepted without one)"
        ))
    }

    /// Whether `text` may be used as a URI value (identifiers, extension vocabulary): any
    /// absolute URI by RFC 3986 syntax, as the schema's `format: uri` has it. Compact IRIs
    /// with undeclared prefixes pass as URIs with that scheme: GS1's own examples use
    /// `example:x` values without declaring `example`.
    pub fn check_uri_value(&self, text: &str) -> Result<(), String> {
        check_uri_syntax(text).map(|_| ())
    }
}

/// Checks RFC 3986 absolute-URI syntax (scheme, then a non-empty rest; `http(s)` needs a
/// host, `urn` a namespace and a specific string) and returns the scheme.
fn check_uri_syntax(text: &str) -> Result<&str, String> {
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err(format!(
            "{text:?} has no namespace: expected a URI or prefix:name"
        ));
    };
    if text
        .chars()
        .any(|character| character.is_whitespace() || character.is_control())
    {
        return Err(format!("{text:?} contains whitespace"));
    }
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character));
    if !scheme_ok || rest.is_empty() {
        return Err(format!("{text:?} is not a URI"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => {
            let authority = rest
                .strip_prefix("//")
                .map(|after| after.split(['/', '?', '#']).next().unwrap_or_default());
            match authority {
                Some(authority) if !authority.is_empty() => Ok(scheme),
                _ => Err(format!("{text:?} is an HTTP URI without a host")),
            }
        }
        "urn" => match rest.split_once(':') {
            Some((namespace, specific)) if !namespace.is_empty() && !specific.is_empty() => {
                Ok(scheme)
            }
            _ => Err(format!("{text:?} is not a URN (urn:namespace:specific)")),
        },
        _ => Ok(scheme),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_and_standard_prefixes() {
        let context = vec![
            serde_json::json!(EPCIS_CONTEXT_URL),
            serde_json::json!({"example": "http://ns.example.com/epcis/", "rail:vehicle": {"@type": "@id"}}),
        ];
        let namespaces = Namespaces::from_context(&context);
        assert_eq!(namespaces.declared().len(), 1);
        assert!(namespaces.check_iri("example:myField").is_ok());
        assert!(namespaces.check_iri("cbvmda:lotNumber").is_ok());
        assert!(namespaces.check_iri("https://ns.example.com/x").is_ok());
        assert!(namespaces.check_iri("urn:uuid:1234").is_ok());
        assert!(namespaces.check_iri("exmaple:myField").is_err());
        assert!(namespaces.check_iri("materialType").is_err());
        assert!(namespaces.check_iri("https:relative").is_err());
        assert!(namespaces.check_uri_value("exmaple:x").is_ok());
        assert!(
            namespaces
                .check_uri_value("ni:///sha-256;00?ver=CBV2.0")
                .is_ok()
        );
        assert!(namespaces.check_uri_value("in_transport").is_err());
        assert!(namespaces.check_uri_value("https:relative").is_err());
        assert_eq!(
            namespaces.expand("example:myField"),
            "http://ns.example.com/epcis/myField"
        );
        assert_eq!(namespaces.expand("https://x.org/a"), "https://x.org/a");
    }
}
