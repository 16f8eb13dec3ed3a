//! Pack labels: the QR code (SVG and PNG) of a pack's GS1 Digital Link URI, and the NDEF record
//! that writes the same URI onto an NFC tag.
//!
//! QR encoding is the `qrcode` crate's (error correction level M, as GS1 recommends for Digital
//! Link on packs); rendering is here: SVG as one path of dark modules, PNG as an 8-bit
//! grayscale image with stored (uncompressed) deflate blocks, so no image library is needed.
//! Both keep the 4-module quiet zone the QR standard requires.

use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone around the symbol, in modules (ISO/IEC 18004 requires 4).
pub const QUIET_ZONE_MODULES: usize = 4;
/// Largest module size a caller may ask for.
pub const MODULE_PIXELS_MAX: usize = 32;
/// Longest URI a label encodes.
pub const URI_BYTES_MAX: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("the URI is {bytes} bytes, over the limit of {limit}")]
    TooLong { bytes: usize, limit: usize },
    #[error("module size must be 1 to {MODULE_PIXELS_MAX} pixels")]
    ModuleSize,
    #[error("QR encoding failed: {0}")]
    Encoding(String),
}

/// The QR symbol's modules, row by row, `true` for dark, with its width in modules.
pub fn qr_modules(uri: &str) -> Result<(usize, Vec<bool>), LabelError> {
    if uri.len() > URI_BYTES_MAX {
        return Err(LabelError::TooLong {
            bytes: uri.len(),
            limit: URI_BYTES_MAX,
        });
    }
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|error| LabelError::Encoding(error.to_string()))?;
    let modules = code
        .to_colors()
        .into_iter()
        .map(|color| color == Color::Dark)
        .collect();
    Ok((code.width(), modules))
}

/// SVG of the QR code, `module_pixels` per module.
pub fn qr_svg(uri: &str, module_pixels: usize) -> Result<String, LabelError> {
    if !(1..=MODULE_PIXELS_MAX).contains(&module_pixels) {
        return Err(LabelError::ModuleSize);
    }
    let (width, modules) = qr_modules(uri)?;
    let size = (width + 2 * QUIET_ZONE_MODULES) * module_pixels;
    let mut path = String::new();
    for (index, dark) in modules.iter().enumerate() {
        if *dark {
            let x = (index % width + QUIET_ZONE_MODULES) * module_pixels;
            let y = (index / width + QUIET_ZONE_MODULES) * module_pixels;
            path.push_str(&format!(
                "M{x} {y}h{module_pixels}v{module_pixels}h-{module_pixels}z"
            ));
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>\n"
    ))
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in bytes {
        crc ^= *byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in bytes {
        a = (a + *byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// PNG of the QR code, `module_pixels` per module, 8-bit grayscale.
pub fn qr_png(uri: &str, module_pixels: usize) -> Result<Vec<u8>, LabelError> {
    if !(1..=MODULE_PIXELS_MAX).contains(&module_pixels) {
        return Err(LabelError::ModuleSize);
    }
    let (width, modules) = qr_modules(uri)?;
    let side_modules = width + 2 * QUIET_ZONE_MODULES;
    let side = side_modules * module_pixels;
    // Raw scanlines: a filter byte (0, none) and one byte per pixel.
    let mut raw = Vec::with_capacity((side + 1) * side);
    for y in 0..side {
        raw.push(0);
        let module_y = y / module_pixels;
        for x in 0..side {
            let module_x = x / module_pixels;
            let dark = module_y >= QUIET_ZONE_MODULES
                && module_x >= QUIET_ZONE_MODULES
                && module_y < QUIET_ZONE_MODULES + width
                && module_x < QUIET_ZONE_MODULES + width
                && modules[(module_y - QUIET_ZONE_MODULES) * width + module_x - QUIET_ZONE_MODULES];
            raw.push(if dark { 0 } else { 255 });
        }
    }
    // zlib stream of stored deflate blocks (at most 65,535 bytes each).
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (index, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == blocks.len()));
        let length = block.len() as u16;
        zlib.extend_from_slice(&length.to_le_bytes());
        zlib.extend_from_slice(&(!length).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(side as u32).to_be_bytes());
    header.extend_from_slice(&(side as u32).to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit, grayscale, deflate, no filter set, no interlace
    png_chunk(&mut png, b"IHDR", &header);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

/// Percent-encodes a GS1 AI 82 value for a Digital Link path segment: RFC 3986 unreserved
/// characters stay, everything else becomes `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The canonical GS1 Digital Link URI of a pack under `base` (e.g. `https://verify.example.com`):
/// path order 01, 10, 21 and the expiry as the `17` data attribute.
pub fn digital_link_uri(
    base: &str,
    gtin: &str,
    lot: Option<&str>,
    serial: &str,
    expiry: Option<&str>,
) -> String {
    let mut uri = format!("{}/01/{gtin}", base.trim_end_matches('/'));
    if let Some(lot) = lot {
        uri.push_str(&format!("/10/{}", percent_encode(lot)));
    }
    uri.push_str(&format!("/21/{}", percent_encode(serial)));
    if let Some(expiry) = expiry {
        uri.push_str(&format!("?17={expiry}"));
    }
    uri
}

/// URI identifier codes of the NFC Forum URI record type (RTD-URI), longest prefixes first.
const URI_PREFIXES: [(u8, &str); 4] = [
    (0x02, "https://www."),
    (0x01, "http://www."),
    (0x04, "https://"),
    (0x03, "http://"),
];

/// One NDEF message with a single well-known URI record (`U`) holding `uri`: the bytes to write
/// to an NFC Forum tag.
pub fn ndef_uri_record(uri: &str) -> Result<Vec<u8>, LabelError> {
    if uri.len() > URI_BYTES_MAX {
        return Err(LabelError::TooLong {
            bytes: uri.len(),
            limit: URI_BYTES_MAX,
        });
    }
    let (code, rest) = URI_PREFIXES
        .iter()
        .find_map(|(code, prefix)| uri.strip_prefix(prefix).map(|rest| (*code, rest)))
        .unwrap_or((0x00, uri));
    let mut payload = vec![code];
    payload.extend_from_slice(rest.as_bytes());
    // Flags: MB (first record) | ME (last record) | SR (short, when it fits) | TNF 1 (well known).
    let short = payload.len() <= 255;
    let mut record = vec![if short { 0xD1 } else { 0xC1 }, 0x01];
    if short {
        record.push(payload.len() as u8);
    } else {
        record.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    }
    record.push(b'U');
    record.extend_from_slice(&payload);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "https://id.example.org/01/09506000134352/10/L2026A17/21/AMX000001?17=281130";

    #[test]
    fn ndef_uri_record_matches_the_nfc_forum_layout() {
        let record = ndef_uri_record("https://example.com/01/09506000134352/21/A1").unwrap();
        let rest = b"example.com/01/09506000134352/21/A1";
        assert_eq!(record[0], 0xD1, "MB, ME, SR, well-known");
        assert_eq!(record[1], 1, "type length");
        assert_eq!(record[2] as usize, rest.len() + 1, "payload length");
        assert_eq!(record[3], b'U');
        assert_eq!(record[4], 0x04, "https:// abbreviated");
        assert_eq!(&record[5..], rest);
        assert_eq!(ndef_uri_record("https://www.x.cn").unwrap()[4], 0x02);
        assert_eq!(
            ndef_uri_record("urn:epc:id:sgtin:0614141.812345.6789").unwrap()[4],
            0x00
        );
    }

    #[test]
    fn png_is_a_well_formed_image_of_the_symbol() {
        let png = qr_png(URI, 4).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (width, modules) = qr_modules(URI).unwrap();
        let side = ((width + 2 * QUIET_ZONE_MODULES) * 4) as u32;
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), side);
        // IHDR's CRC is right (the chunk starts at byte 8: length, type, 13 data bytes, CRC).
        let crc = u32::from_be_bytes(png[29..33].try_into().unwrap());
        assert_eq!(crc, crc32(&png[12..29]));
        // Finder patterns make the top-left module dark.
        assert!(modules[0]);
        assert_eq!(modules.len(), width * width);
    }

    #[test]
    fn svg_draws_every_dark_module() {
        let svg = qr_svg(URI, 3).unwrap();
        let (_, modules) = qr_modules(URI).unwrap();
        let dark = modules.iter().filter(|dark| **dark).count();
        assert_eq!(svg.matches('M').count(), dark);
        assert!(svg.starts_with("<svg"));
    }

    #[test]
    fn digital_link_is_canonical_and_encoded() {
        assert_eq!(
            digital_link_uri(
                "https://id.example.org/",
                "09506000134352",
                Some("L/1"),
                "A 1",
                Some("281130")
            ),
            "https://id.example.org/01/09506000134352/10/L%2F1/21/A%201?17=281130"
        );
        assert_eq!(
            digital_link_uri("http://h", "09506000134352", None, "X", None),
            "http://h/01/09506000134352/21/X"
        );
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(qr_svg(URI, 0), Err(LabelError::ModuleSize));
        let long = "x".repeat(URI_BYTES_MAX + 1);
        assert!(matches!(qr_png(&long, 2), Err(LabelError::TooLong { .. })));
    }
}
