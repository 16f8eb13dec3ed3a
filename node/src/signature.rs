//! Ed25519 verification of transaction signatures: one rule, checked one at a time or in
//! batches, with the same verdict either way.
//!
//! The rule is RFC 8032's (section 5.1.7) with the cofactored group equation
//! `[8][S]B = [8]R + [8][k]A`, plus the strictness a ledger needs:
//! - `A` (the sender's key) and `R` decode from canonical encodings (y below the field prime)
//!   and are not of small order;
//! - `S` is a canonical scalar (below the group order L);
//! - `k = SHA-512(R || A || message) mod L`.
//!
//! Why cofactored: a batch check multiplies each signature's equation by a random 128-bit
//! weight and sums them. With the cofactorless equation (ed25519-dalek's `verify_strict` and
//! its batch) a signature whose `R` carries a small-order component fails alone but passes a
//! batch with probability up to 1/2, so two nodes verifying the same block differently could
//! disagree. Multiplying by the cofactor removes every small-order component on both paths, so
//! a batch passes exactly when every signature in it passes alone (except with probability
//! about 2^-128). This is the reasoning of Zcash's ZIP 215. The cofactored equation is the one
//! RFC 8032 states; honest signers' signatures satisfy both equations.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// One signature to check.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub public_key: &'a [u8; 32],
    pub message: &'a [u8],
    pub signature: &'a [u8; 64],
}

/// Signatures per multiscalar multiplication in [`verify_batch`]: larger batches save little
/// more per signature and cost memory.
pub const BATCH_SIGNATURES_MAX: usize = 1024;

/// Whether the encoding's y coordinate (the sign bit cleared) is below p = 2^255 - 19.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    // y >= p exactly when the top byte is 0x7f, the middle bytes are 0xff and the lowest
    // byte is at least 0xed.
    !(bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|byte| *byte == 0xff) && bytes[0] >= 0xed)
}

/// The point of a canonical encoding that is not of small order.
pub fn decode_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_y(bytes) {
        return None;
    }
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (!point.is_small_order()).then_some(point)
}

/// `k = SHA-512(R || A || message) mod L`.
fn challenge(r: &[u8], public_key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(public_key);
    hasher.update(message);
    Scalar::from_hash(hasher)
}

/// The parts of a signature that decode: R as a point, S as a canonical scalar.
fn decode_signature(signature: &[u8; 64]) -> Option<(EdwardsPoint, Scalar)> {
    let r_bytes: &[u8; 32] = signature[..32].try_into().expect("32 bytes");
    let s_bytes: [u8; 32] = signature[32..].try_into().expect("32 bytes");
    let r = decode_point(r_bytes)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    Some((r, s))
}

/// Checks one signature; `public_key` is the decoded `item.public_key` (callers cache keys,
/// since decoding one costs about a third of a verification).
pub fn verify_with_key(item: &Item<'_>, public_key: &EdwardsPoint) -> bool {
    let Some((r, s)) = decode_signature(item.signature) else {
        return false;
    };
    let k = challenge(&item.signature[..32], item.public_key, item.message);
    // [S]B - [k]A - R, times the cofactor, must be the identity.
    let difference = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-public_key, &s) - r;
    difference.mul_by_cofactor().is_identity()
}

/// Checks one signature.
pub fn verify(item: &Item<'_>) -> bool {
    decode_point(item.public_key).is_some_and(|key| verify_with_key(item, &key))
}

/// Whether every signature passes, checked together: one multiscalar multiplication per
/// [`BATCH_SIGNATURES_MAX`] signatures, with the terms of a key that signs several of them
/// merged. `key` decodes a public key (a cache lookup); `None` fails the batch.
pub fn verify_batch(items: &[Item<'_>], key: impl Fn(&[u8; 32]) -> Option<EdwardsPoint>) -> bool {
    items
        .chunks(BATCH_SIGNATURES_MAX)
        .all(|chunk| verify_chunk(chunk, &key))
}

fn verify_chunk(items: &[Item<'_>], key: &impl Fn(&[u8; 32]) -> Option<EdwardsPoint>) -> bool {
    use rand::Rng;
    match items {
        [] => return true,
        [item] => return key(item.public_key).is_some_and(|point| verify_with_key(item, &point)),
        _ => {}
    }
    let mut random = rand::thread_rng();
    // Sum over i of z_i * ([S_i]B - [k_i]A_i - R_i) = [sum z_i S_i]B - sum [z_i k_i]A_i
    // - sum [z_i]R_i; the A terms of one key add up into one.
    let mut basepoint_scalar = Scalar::ZERO;
    let mut key_terms: HashMap<[u8; 32], (EdwardsPoint, Scalar)> = HashMap::new();
    let mut scalars = Vec::with_capacity(items.len() + 8);
    let mut points = Vec::with_capacity(items.len() + 8);
    for item in items {
        let Some((r, s)) = decode_signature(item.signature) else {
            return false;
        };
        let weight = Scalar::from(random.r#gen::<u128>());
        let k = challenge(&item.signature[..32], item.public_key, item.message);
        basepoint_scalar += weight * s;
        match key_terms.get_mut(item.public_key) {
            Some((_, scalar)) => *scalar -= weight * k,
            None => {
                let Some(point) = key(item.public_key) else {
                    return false;
                };
                key_terms.insert(*item.public_key, (point, -(weight * k)));
            }
        }
        scalars.push(-weight);
        points.push(r);
    }
    scalars.push(basepoint_scalar);
    points.push(ED25519_BASEPOINT_POINT);
    for (point, scalar) in key_terms.into_values() {
        scalars.push(scalar);
        points.push(point);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, message: &[u8]) -> ([u8; 32], [u8; 64]) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        (key.verifying_key().to_bytes(), key.sign(message).to_bytes())
    }

    fn items<'a>(
        signed: &'a [([u8; 32], [u8; 64])],
        messages: &'a [impl AsRef<[u8]>],
    ) -> Vec<Item<'a>> {
        signed
            .iter()
            .zip(messages)
            .map(|((public_key, signature), message)| Item {
                public_key,
                message: message.as_ref(),
                signature,
            })
            .collect()
    }

    fn decode(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
        decode_point(bytes)
    }

    /// A signature by secret scalar `a` whose R carries the small-order component `torsion`:
    /// R = [r]B + T, S = r + k a. It satisfies the cofactored equation only.
    fn signature_with_torsion_in_r(
        a: Scalar,
        message: &[u8],
        torsion: EdwardsPoint,
    ) -> ([u8; 32], [u8; 64]) {
        let public_key = EdwardsPoint::mul_base(&a).compress().to_bytes();
        let r = Scalar::from(123_456_789u64);
        let big_r = (EdwardsPoint::mul_base(&r) + torsion).compress().to_bytes();
        let k = challenge(&big_r, &public_key, message);
        let s = r + k * a;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&big_r);
        signature[32..].copy_from_slice(s.as_bytes());
        (public_key, signature)
    }

    #[test]
    fn honest_signatures_pass_alone_and_in_batches_and_tampering_fails_both() {
        let messages: Vec<Vec<u8>> = (0..40u8).map(|index| vec![index; 50]).collect();
        let signed: Vec<([u8; 32], [u8; 64])> = messages
            .iter()
            .enumerate()
            .map(|(index, message)| signed(1 + (index % 3) as u8, message))
            .collect();
        let items = items(&signed, &messages);
        assert!(items.iter().all(verify));
        assert!(verify_batch(&items, decode));
        assert!(verify_batch(&items[..1], decode));
        assert!(verify_batch(&[], decode));

        // One wrong message, signature byte or key anywhere fails the batch.
        for position in [0, 17, 39] {
            let other_message = b"another message".to_vec();
            let mut tampered = items.clone();
            tampered[position].message = &other_message;
            assert!(!verify(&tampered[position]));
            assert!(!verify_batch(&tampered, decode));

            let mut signature = *items[position].signature;
            signature[40] ^= 1;
            let mut tampered = items.clone();
            tampered[position].signature = &signature;
            assert!(!verify(&tampered[position]));
            assert!(!verify_batch(&tampered, decode));

            let (other_key, _) = self::signed(9, b"x");
            let mut tampered = items.clone();
            tampered[position].public_key = &other_key;
            assert!(!verify(&tampered[position]));
            assert!(!verify_batch(&tampered, decode));
        }
    }

    #[test]
    fn malleated_and_small_order_parts_are_refused_on_both_paths() {
        let message = b"commission B0001";
        let (public_key, signature) = signed(4, message);
        // S + L verifies the same equation but is not canonical.
        let s = Scalar::from_canonical_bytes(signature[32..].try_into().unwrap()).unwrap();
        let mut malleated = signature;
        let mut s_plus_order = [0u8; 32];
        // The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let mut order = [0u8; 32];
        order[..16].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14,
        ]);
        order[31] = 0x10;
        assert_eq!(Scalar::from_bytes_mod_order(order), Scalar::ZERO);
        let mut carry = 0u16;
        for index in 0..32 {
            let sum = u16::from(s.as_bytes()[index]) + u16::from(order[index]) + carry;
            s_plus_order[index] = sum as u8;
            carry = sum >> 8;
        }
        malleated[32..].copy_from_slice(&s_plus_order);
        let item = Item {
            public_key: &public_key,
            message,
            signature: &malleated,
        };
        assert!(!verify(&item));
        assert!(!verify_batch(&[item, item], decode));

        // A small-order key (here the identity) and a small-order R are refused.
        let identity = EdwardsPoint::default().compress().to_bytes();
        assert_eq!(decode_point(&identity), None);
        let mut small_r = signature;
        small_r[..32].copy_from_slice(&EIGHT_TORSION[1].compress().to_bytes());
        let item = Item {
            public_key: &public_key,
            message,
            signature: &small_r,
        };
        assert!(!verify(&item));

        // A non-canonical y (p + 1, which reduces to the valid y = 1) is refused.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert!(!is_canonical_y(&non_canonical));
        assert_eq!(decode_point(&non_canonical), None);
        let mut below_prime = non_canonical;
        below_prime[0] = 0xec;
        assert!(is_canonical_y(&below_prime));
    }

    #[test]
    fn a_small_order_component_in_r_gets_one_verdict_alone_and_in_every_batch() {
        // The case that makes cofactorless batching unsafe: ed25519-dalek's verify_strict
        // refuses this signature, and its cofactorless batch accepts it about half the time.
        let a = Scalar::from(987_654_321u64);
        let message = b"a signature crafted by its own signer";
        let (public_key, signature) = signature_with_torsion_in_r(a, message, EIGHT_TORSION[4]);
        let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&public_key).unwrap();
        assert!(
            dalek_key
                .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
                .is_err()
        );
        let crafted = Item {
            public_key: &public_key,
            message,
            signature: &signature,
        };
        assert!(verify(&crafted), "the cofactored equation holds");
        let honest: Vec<([u8; 32], [u8; 64])> =
            (0..8u8).map(|index| signed(20 + index, &[index])).collect();
        let messages: Vec<[u8; 1]> = (0..8u8).map(|index| [index]).collect();
        for _ in 0..64 {
            let mut items = items(&honest, &messages);
            items.insert(3, crafted);
            assert!(
                verify_batch(&items, decode),
                "random weights never change the verdict"
            );
        }
    }
}
