//! What the shell checks before it believes an approval: the token is the configured
//! service's signature over this request id, digest, log head, reviewer and times; the
//! approval came before the expiry the shell itself chose; the reviewer is not the author
//! and is on the environment's allow-list when it has one.

use ed25519_dalek::VerifyingKey;

use super::protocol::ApprovalRequest;
use super::token::Approval;
use super::{time, ApprovalError};

/// An approval that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Who approved.
    pub reviewer: String,
    /// When.
    pub approved_at: String,
    /// The token.
    pub token: String,
}

/// Checks the `approved` answer `claimed` to `sent`, as the author `author`, at Unix time
/// `now`.
pub fn verify(
    sent: &ApprovalRequest,
    key: &VerifyingKey,
    allow: &[String],
    author: &str,
    now: i64,
    claimed: &Verified,
) -> Result<Verified, ApprovalError> {
    let Verified {
        reviewer,
        approved_at,
        token,
    } = claimed;
    let (reviewer, approved_at, token) = (reviewer.as_str(), approved_at.as_str(), token.as_str());
    let approval = Approval {
        request_id: &sent.request_id,
        change_digest: &sent.change_digest,
        log_head: &sent.log_head,
        reviewer,
        approved_at,
        expires_at: &sent.expires_at,
    };
    if !approval.verify(key, token) {
        return Err(ApprovalError::BadToken);
    }
    let expires = time::parse(&sent.expires_at).unwrap_or(i64::MIN);
    let at = time::parse(approved_at).ok_or(ApprovalError::Mismatch("approval time"))?;
    if at > expires || now > expires {
        return Err(ApprovalError::Late(sent.expires_at.clone()));
    }
    if same_person(reviewer, author) {
        return Err(ApprovalError::SelfApproval(reviewer.to_string()));
    }
    if !allow.is_empty() && !allow.iter().any(|a| a == reviewer) {
        return Err(ApprovalError::NotAllowed(reviewer.to_string()));
    }
    Ok(Verified {
        reviewer: reviewer.to_string(),
        approved_at: approved_at.to_string(),
        token: token.to_string(),
    })
}

/// Names compared as people write them: case and surrounding space do not make a second
/// person.
pub fn same_person(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn sent() -> ApprovalRequest {
        ApprovalRequest {
            version: 1,
            request_id: "0123456789abcdef".into(),
            environment: "prod".into(),
            server: "s".into(),
            database: "d".into(),
            role: "w".into(),
            author: "alice".into(),
            ticket: "OPS-1".into(),
            statements: vec!["update t set a = 1".into()],
            counts: vec![],
            preview_excerpt: String::new(),
            change_digest: "a".repeat(64),
            log_head: "b".repeat(64),
            txid: "7".into(),
            expires_at: "2026-01-01T00:05:00Z".into(),
        }
    }

    fn token(key: &SigningKey, s: &ApprovalRequest, reviewer: &str, at: &str) -> String {
        Approval {
            request_id: &s.request_id,
            change_digest: &s.change_digest,
            log_head: &s.log_head,
            reviewer,
            approved_at: at,
            expires_at: &s.expires_at,
        }
        .sign(key)
        .unwrap()
    }

    fn v(reviewer: &str, at: &str, token: &str) -> Verified {
        Verified {
            reviewer: reviewer.into(),
            approved_at: at.into(),
            token: token.into(),
        }
    }

    #[test]
    fn every_check() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let pk = key.verifying_key();
        let s = sent();
        let at = "2026-01-01T00:01:00Z";
        let now = time::parse(at).unwrap();
        let t = token(&key, &s, "bob", at);
        assert!(verify(&s, &pk, &[], "alice", now, &v("bob", at, &t)).is_ok());
        // Another reviewer name than the one signed.
        assert!(matches!(
            verify(&s, &pk, &[], "alice", now, &v("carol", at, &t)),
            Err(ApprovalError::BadToken)
        ));
        // Another digest.
        let other = ApprovalRequest {
            change_digest: "c".repeat(64),
            ..s.clone()
        };
        assert!(matches!(
            verify(&other, &pk, &[], "alice", now, &v("bob", at, &t)),
            Err(ApprovalError::BadToken)
        ));
        // Too late.
        assert!(matches!(
            verify(&s, &pk, &[], "alice", now + 600, &v("bob", at, &t)),
            Err(ApprovalError::Late(_))
        ));
        // Self-approval, whatever the case.
        let mine = token(&key, &s, "Alice", at);
        assert!(matches!(
            verify(&s, &pk, &[], "alice", now, &v("Alice", at, &mine)),
            Err(ApprovalError::SelfApproval(_))
        ));
        // Allow-list.
        assert!(matches!(
            verify(&s, &pk, &["carol".into()], "alice", now, &v("bob", at, &t)),
            Err(ApprovalError::NotAllowed(_))
        ));
    }
}
