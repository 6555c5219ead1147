//! The approval code the reviewer reads and types at the author's screen: 8 Crockford
//! base32 characters of SHA-256(`"pgward-code"` ‖ token bytes). The typed code proves the
//! reviewer is at the screen; it is compared in constant time, and Crockford's reading
//! rules (case, `O`→0, `I`/`L`→1, hyphens and spaces ignored) forgive what people mistype.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The code for `token` (the hex signature), or `None` when the token is not hex.
pub fn derive(token: &str) -> Option<String> {
    let bytes = super::hex::decode(token)?;
    let mut h = Sha256::new();
    h.update(b"pgward-code");
    h.update(&bytes);
    let d = h.finalize();
    // 40 bits → 8 characters of 5 bits.
    let n = d[..5]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Some(
        (0..8)
            .map(|i| ALPHABET[((n >> (35 - 5 * i)) & 31) as usize] as char)
            .collect(),
    )
}

/// The code as shown: `ABCD-EFGH`.
pub fn display(code: &str) -> String {
    if code.len() == 8 {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

/// `typed` read the Crockford way.
fn normalize(typed: &str) -> Vec<u8> {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => b'0',
            'I' | 'L' => b'1',
            c if c.is_ascii() => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Whether `typed` is `expected`, compared in constant time.
pub fn matches(expected: &str, typed: &str) -> bool {
    let typed = normalize(typed);
    typed.len() == expected.len() && bool::from(typed.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_the_token() {
        let a = derive(&"ab".repeat(64)).unwrap();
        let b = derive(&"ac".repeat(64)).unwrap();
        assert_eq!(a.len(), 8);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(derive("not hex"), None);
    }

    #[test]
    fn typed_the_crockford_way() {
        assert!(matches("01ABCDEF", "o1ab-cdef"));
        assert!(matches("11ABCDEF", "il ab cd ef"));
        assert!(!matches("01ABCDEF", "01ABCDEG"));
        assert!(!matches("01ABCDEF", "01ABCDE"));
        assert!(!matches("01ABCDEF", ""));
        assert!(!matches("01ABCDEF", "01ABCDEFé"));
        assert_eq!(display("01ABCDEF"), "01AB-CDEF");
    }
}
