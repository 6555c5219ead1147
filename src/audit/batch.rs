//! Batch verification of many Ed25519 signatures by one key: the session log's records
//! are all signed by the operator key of its `session_start`, so their check can share
//! that key's term.
//!
//! A batch holds when `[-Σ zᵢsᵢ]B + Σ [zᵢ]Rᵢ + [Σ zᵢhᵢ]A` is the identity, for random
//! 128-bit `zᵢ` the signer cannot predict (`hᵢ = SHA-512(Rᵢ ‖ A ‖ Mᵢ)`). This is
//! ed25519-dalek's `verify_batch` with the key's term collapsed into one: with one key,
//! `Σ [zᵢhᵢ]A = [Σ zᵢhᵢ]A`, so the multiscalar multiplication has n + 2 points instead of
//! 2n + 1, and only the short `zᵢ` remain per signature. The checks are the same, and
//! stricter where they differ: every `s` must be canonical, every `R` a curve point of
//! more than small order, and the key must not be weak. A batch that fails says nothing
//! about which signature is bad; callers then check one by one with `verify_strict`.
//! The message is passed in pieces (context, bytes, closing brace) and hashed in place,
//! so a log line is never copied to be checked.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// One signed message, in pieces that are hashed back to back.
pub struct Signed<'a> {
    /// The message's pieces, in order.
    pub message: [&'a [u8]; 3],
    /// Its signature.
    pub sig: Signature,
}

impl Signed<'_> {
    /// The message in one piece (for the one-by-one check).
    pub fn message(&self) -> Vec<u8> {
        self.message.concat()
    }
}

/// Whether every signature in `batch` verifies under `key`. Fails closed: a weak key,
/// a malformed signature, or no randomness for the `zᵢ` all answer false.
pub fn verify_same_key(key: &VerifyingKey, batch: &[Signed<'_>]) -> bool {
    if batch.is_empty() {
        return true;
    }
    if key.is_weak() {
        return false;
    }
    let mut seed = [0u8; 32];
    if getrandom::getrandom(&mut seed).is_err() {
        return false;
    }
    let a = key.to_edwards();
    let mut draws = Draws::new(seed);
    let mut zs: Vec<Scalar> = Vec::with_capacity(batch.len());
    let mut rs = Vec::with_capacity(batch.len());
    let mut b_coefficient = Scalar::ZERO;
    let mut a_coefficient = Scalar::ZERO;
    for item in batch {
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*item.sig.s_bytes()))
        else {
            return false;
        };
        let Some(r) = CompressedEdwardsY(*item.sig.r_bytes()).decompress() else {
            return false;
        };
        if r.is_small_order() {
            return false;
        }
        let mut h = Sha512::new();
        h.update(item.sig.r_bytes());
        h.update(key.as_bytes());
        for piece in item.message {
            h.update(piece);
        }
        let hram = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let z = Scalar::from(draws.next());
        b_coefficient += z * s;
        a_coefficient += z * hram;
        zs.push(z);
        rs.push(r);
    }
    let scalars = [-b_coefficient, a_coefficient].into_iter().chain(zs);
    let points = [ED25519_BASEPOINT_POINT, a].into_iter().chain(rs);
    curve25519_dalek::EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

/// The coefficients `zᵢ`: 128-bit numbers drawn from a random seed, four to each
/// SHA-512(seed ‖ block number).
struct Draws {
    seed: [u8; 32],
    block: u64,
    out: [u8; 64],
    used: usize,
}

impl Draws {
    fn new(seed: [u8; 32]) -> Draws {
        Draws {
            seed,
            block: 0,
            out: [0; 64],
            used: 64,
        }
    }

    fn next(&mut self) -> u128 {
        if self.used == 64 {
            let mut h = Sha512::new();
            h.update(self.seed);
            h.update(self.block.to_le_bytes());
            self.out = h.finalize().into();
            self.block += 1;
            self.used = 0;
        }
        let mut z = [0u8; 16];
        z.copy_from_slice(&self.out[self.used..self.used + 16]);
        self.used += 16;
        u128::from_le_bytes(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(key: &SigningKey, n: usize) -> Vec<(Vec<u8>, Signature)> {
        (0..n)
            .map(|i| {
                let m = format!("ctx\nrecord {i}}}").into_bytes();
                let s = key.sign(&m);
                (m, s)
            })
            .collect()
    }

    fn batch(items: &[(Vec<u8>, Signature)]) -> Vec<Signed<'_>> {
        items
            .iter()
            .map(|(m, s)| Signed {
                message: [&m[..4], &m[4..m.len() - 1], &m[m.len() - 1..]],
                sig: *s,
            })
            .collect()
    }

    #[test]
    fn good_signatures_verify_in_any_batch_size() {
        let key = SigningKey::from_bytes(&[5; 32]);
        for n in [0, 1, 2, 200, 700] {
            let items = signed(&key, n);
            assert!(verify_same_key(&key.verifying_key(), &batch(&items)), "{n}");
        }
    }

    #[test]
    fn any_bad_signature_fails_the_batch() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let items = signed(&key, 300);
        // A changed message, a changed R, a changed s, a non-canonical s, another key.
        let mut changed = items.clone();
        changed[17].0[6] ^= 1;
        assert!(!verify_same_key(&key.verifying_key(), &batch(&changed)));
        for byte in [0, 40] {
            let mut bad = items.clone();
            let mut raw = bad[299].1.to_bytes();
            raw[byte] ^= 1;
            bad[299].1 = Signature::from_bytes(&raw);
            assert!(!verify_same_key(&key.verifying_key(), &batch(&bad)));
        }
        let mut high = items.clone();
        let mut raw = high[0].1.to_bytes();
        raw[63] |= 0xf0;
        high[0].1 = Signature::from_bytes(&raw);
        assert!(!verify_same_key(&key.verifying_key(), &batch(&high)));
        assert!(!verify_same_key(&other.verifying_key(), &batch(&items)));
    }

    #[test]
    fn coefficients_differ() {
        let mut d = Draws::new([1; 32]);
        let zs: Vec<u128> = (0..9).map(|_| d.next()).collect();
        let distinct: std::collections::HashSet<_> = zs.iter().collect();
        assert_eq!(distinct.len(), zs.len());
    }

    #[test]
    fn a_message_split_differently_is_the_same_message() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let items = signed(&key, 3);
        let b = batch(&items);
        assert_eq!(b[1].message(), items[1].0);
    }
}
