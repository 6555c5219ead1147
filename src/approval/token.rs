//! The approval token: the service's Ed25519 signature over the canonical bytes
//! `pgward-approval-v1\n{request_id}\n{change_digest}\n{log_head}\n{reviewer}\n{approved_at}\n{expires_at}`.
//! The shell holds only the service's public key, so no author can mint an approval; a
//! field that cannot be written unambiguously on one line (a newline in it) is refused
//! before anything is signed or verified.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use super::hex;

/// What a token binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// The change digest.
    pub change_digest: &'a str,
    /// The session log's head.
    pub log_head: &'a str,
    /// Who approved.
    pub reviewer: &'a str,
    /// When.
    pub approved_at: &'a str,
    /// Until when.
    pub expires_at: &'a str,
}

impl Approval<'_> {
    /// The canonical bytes; `None` when a field holds a line break.
    pub fn canonical(&self) -> Option<Vec<u8>> {
        let fields = [
            self.request_id,
            self.change_digest,
            self.log_head,
            self.reviewer,
            self.approved_at,
            self.expires_at,
        ];
        if fields.iter().any(|f| f.contains(['\n', '\r'])) {
            return None;
        }
        let mut out = b"pgward-approval-v1".to_vec();
        for f in fields {
            out.push(b'\n');
            out.extend_from_slice(f.as_bytes());
        }
        Some(out)
    }

    /// The token (hex signature) by `key`.
    pub fn sign(&self, key: &SigningKey) -> Option<String> {
        Some(hex::encode(&key.sign(&self.canonical()?).to_bytes()))
    }

    /// Whether `token` is `key`'s signature over these fields.
    pub fn verify(&self, key: &VerifyingKey, token: &str) -> bool {
        let (Some(bytes), Some(sig)) = (self.canonical(), hex::decode_array::<64>(token)) else {
            return false;
        };
        key.verify(&bytes, &Signature::from_bytes(&sig)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval() -> Approval<'static> {
        Approval {
            request_id: "r1",
            change_digest: "d",
            log_head: "h",
            reviewer: "bob",
            approved_at: "2026-01-01T00:00:00Z",
            expires_at: "2026-01-01T00:05:00Z",
        }
    }

    #[test]
    fn signs_and_verifies_exactly() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let token = approval().sign(&key).unwrap();
        assert!(approval().verify(&key.verifying_key(), &token));
        let other = Approval {
            change_digest: "e",
            ..approval()
        };
        assert!(!other.verify(&key.verifying_key(), &token));
        let stranger = SigningKey::from_bytes(&[8; 32]);
        assert!(!approval().verify(&stranger.verifying_key(), &token));
        let mut tampered = token.clone().into_bytes();
        tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
        assert!(!approval().verify(&key.verifying_key(), &String::from_utf8(tampered).unwrap()));
        assert!(!approval().verify(&key.verifying_key(), "zz"));
    }

    #[test]
    fn no_field_can_forge_a_line() {
        let a = Approval {
            reviewer: "bob\n2026",
            ..approval()
        };
        assert_eq!(a.canonical(), None);
        assert_eq!(a.sign(&SigningKey::from_bytes(&[7; 32])), None);
    }
}
