//! Checks of GS1 identifiers and texts as the trace contract receives them: GTIN-14, SSCC,
//! YYMMDD dates and the GS1 AI 82 character set of serials, lots and ids.

/// Digits of an SSCC (GS1 AI 00): extension digit, company prefix, serial reference, check digit.
pub const SSCC_DIGITS: usize = 18;

/// True when `gtin` is 14 digits whose last is the GS1 mod-10 check digit of the first 13.
pub fn is_valid_gtin14(gtin: &str) -> bool {
    let bytes = gtin.as_bytes();
    if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    gs1_check_digit(&bytes[..13]) == bytes[13] - b'0'
}

/// GS1 mod-10 check digit of the given digits (weights 3,1,3,… from the right).
pub fn gs1_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            let value = (digit - b'0') as u32;
            if index % 2 == 0 { value * 3 } else { value }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True when `date` is YYMMDD with a month 01–12 and a day 00–31 (GS1 allows day 00 meaning the
/// month's last day).
pub fn is_valid_yymmdd(date: &str) -> bool {
    let bytes = date.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = (bytes[2] - b'0') * 10 + (bytes[3] - b'0');
    let day = (bytes[4] - b'0') * 10 + (bytes[5] - b'0');
    (1..=12).contains(&month) && day <= 31
}

/// True for a GS1 AI 82 character-set string (serials and lots) of 1..=max characters.
pub fn is_valid_gs1_text(text: &str, characters_max: usize) -> bool {
    !text.is_empty()
        && text.len() <= characters_max
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!\"%&'()*+,-./:;<=>?_".contains(&byte))
}

/// True when `sscc` is 18 digits whose last is the GS1 mod-10 check digit of the first 17.
pub fn is_valid_sscc(sscc: &str) -> bool {
    let bytes = sscc.as_bytes();
    if bytes.len() != SSCC_DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    gs1_check_digit(&bytes[..SSCC_DIGITS - 1]) == bytes[SSCC_DIGITS - 1] - b'0'
}

/// Digits of China's drug trace code (药品追溯码).
pub const CHINA_TRACE_CODE_DIGITS: usize = 20;
/// Digits of its product identification code, the code's first part.
pub const CHINA_PRODUCT_CODE_DIGITS: usize = 7;

/// True when `code` is a 7-digit product identification code.
pub fn is_valid_china_product_code(code: &str) -> bool {
    code.len() == CHINA_PRODUCT_CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())
}

/// True when `code` has the shape of a 20-digit drug trace code.
pub fn is_valid_china_trace_code(code: &str) -> bool {
    code.len() == CHINA_TRACE_CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sscc_check_digit() {
        // The GS1 General Specifications' example SSCC.
        assert!(is_valid_sscc("106141411234567897"));
        assert!(!is_valid_sscc("106141411234567898"));
        assert!(!is_valid_sscc("10614141123456789"));
        assert!(!is_valid_sscc("10614141123456789A"));
    }

    #[test]
    fn gtin_check_digit() {
        assert!(is_valid_gtin14("09506000134352"));
        assert!(!is_valid_gtin14("09506000134353"));
    }
}
