//! A `multipart/form-data` body (RFC 7578) with one file part, for Jira's attachment
//! upload. Written here rather than through an HTTP crate's feature because one part is
//! all pgward sends: a random boundary that the content is checked not to contain, the
//! part's `Content-Disposition` with its field and file name, its `Content-Type`, and the
//! bytes as they are.

/// Why a form could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// No randomness for the boundary.
    #[error("no random bytes for a multipart boundary: {0}")]
    Random(String),
}

/// A one-file form.
#[derive(Debug)]
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

impl Form {
    /// A form whose field `field` is the file `file_name` (characters other than letters,
    /// digits, `.`, `_` and `-` become `_`) of type `mime` holding `content`.
    pub fn file(
        field: &str,
        file_name: &str,
        mime: &str,
        content: &[u8],
    ) -> Result<Form, FormError> {
        let boundary = loop {
            let mut b = [0u8; 16];
            getrandom::getrandom(&mut b).map_err(|e| FormError::Random(e.to_string()))?;
            let boundary = format!("pgward-{}", crate::audit::hex::encode(&b));
            if !contains(content, boundary.as_bytes()) {
                break boundary;
            }
        };
        let safe: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut body = Vec::with_capacity(content.len() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{safe}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Ok(Form { boundary, body })
    }

    /// The request's `Content-Type`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_part_with_the_exact_bytes() {
        let form = Form::file("file", "a b.jsonl", "application/x-ndjson", b"x\ny\n").unwrap();
        let ct = form.content_type();
        let boundary = ct
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_string();
        let body = String::from_utf8(form.into_body()).unwrap();
        assert_eq!(
            body,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a_b.jsonl\"\r\nContent-Type: application/x-ndjson\r\n\r\nx\ny\n\r\n--{boundary}--\r\n"
            )
        );
    }
}
