//! Text encodings besides UTF-8: Windows tools (PowerShell's `>` redirection, some editors)
//! write UTF-16 with a byte-order mark. Such inputs are turned into UTF-8 before detection, so
//! every text reader sees one encoding.

/// UTF-16 (little- or big-endian, with its byte-order mark) as UTF-8 text; `None` for anything
/// else. Unpaired surrogates become U+FFFD.
pub fn utf16_to_utf8(data: &[u8]) -> Option<Vec<u8>> {
    let little = match data {
        [0xff, 0xfe, ..] => true,
        [0xfe, 0xff, ..] => false,
        _ => return None,
    };
    let units = data[2..].chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_byte_orders_decode() {
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("a;b 1\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("a;é 2\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(utf16_to_utf8(&le).unwrap(), b"a;b 1\r\n");
        assert_eq!(utf16_to_utf8(&be).unwrap(), "a;é 2\n".as_bytes());
        assert_eq!(utf16_to_utf8(b"a;b 1\n"), None);
    }
}
