//! A webhook: `POST {url}` with the JSON `{"ticket", "markdown", "log"}` (`log` is the
//! log file's exact text) and the header `X-Pgward-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of the exact body bytes under the shared secret (`token_env` or
//! `token_file`). The receiver recomputes it over the bytes it received and compares in
//! constant time before it trusts anything in the body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::conn::Secret;

use super::{AttachError, Attachment};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Pgward-Signature-256";

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        crate::audit::hex::encode(&mac.finalize().into_bytes())
    )
}

/// POSTs `a` to `url`, signed with `secret`.
pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &Secret,
    a: &Attachment<'_>,
) -> Result<String, AttachError> {
    let log = std::str::from_utf8(a.log).map_err(|_| {
        AttachError::Log(format!(
            "{} is not UTF-8 text, so it cannot travel in JSON (check it with pgward log verify)",
            a.file_name
        ))
    })?;
    let body = serde_json::to_vec(&serde_json::json!({
        "ticket": a.ticket,
        "markdown": a.markdown,
        "log": log,
    }))
    .map_err(|e| AttachError::Log(e.to_string()))?;
    let sig = signature(secret.expose().as_bytes(), &body);
    super::send(
        url,
        http.post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .body(body),
    )
    .await?;
    Ok(format!("the webhook, for ticket {}", a.ticket))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc4231_case_2() {
        // RFC 4231, test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
