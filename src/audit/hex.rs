//! Lowercase hexadecimal, the one spelling the log uses for hashes, keys and signatures.
//! Decoding accepts lowercase only: a record has exactly one valid spelling, so flipping
//! a letter's case is a change that verification sees.

/// Lowercase hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The bytes of lowercase hex `text`; `None` for odd length or any other character.
pub fn decode_lower(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_uppercase() {
        assert_eq!(encode(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(decode_lower(b"00abff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(decode_lower(b"00ABff"), None);
        assert_eq!(decode_lower(b"0"), None);
    }
}
