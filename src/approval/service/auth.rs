//! Who is talking to the approver. Reviewers log in with a password, stored only as an
//! argon2 hash, and get a session cookie (HttpOnly, SameSite=Strict, Secure on TLS) whose
//! id is stored only as a SHA-256 hash, with a CSRF token for every form. Authors present
//! a credential minted by `pgward approver author add`: 32 random bytes, stored as their
//! SHA-256 (a slow hash buys nothing against a 256-bit secret, and polls stay cheap).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::approval::hex;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pgward_session";
/// The login form's CSRF cookie.
pub const LOGIN_COOKIE: &str = "pgward_login";
/// How long a reviewer stays logged in.
pub const SESSION_SECS: i64 = 8 * 3600;

/// The argon2 hash of `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the argon2 `hash`.
pub fn check_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// SHA-256 hex of a high-entropy secret (author credential, session id).
pub fn hash_secret(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes()))
}

/// A new author credential.
pub fn new_credential() -> Result<String, String> {
    hex::random(32)
        .map(|h| format!("pgw_{h}"))
        .map_err(|e| format!("no randomness: {e}"))
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure when `secure`.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Constant-time equality of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(check_password(&h, "correct horse"));
        assert!(!check_password(&h, "correct hors"));
        assert!(!check_password("junk", "x"));
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; pgward_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(set_cookie("x", "y", 1, true).ends_with("SameSite=Strict; Secure"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd"));
    }
}
