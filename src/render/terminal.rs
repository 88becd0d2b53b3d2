//! Text that reaches a terminal comes from the profiles themselves (function names, file
//! names, commands, error messages quoting a line): a name holding an escape sequence could
//! recolour, retitle or clear the user's terminal, a carriage return could hide a row. Every
//! terminal and Markdown rendering passes such text through [`visible`], which shows control
//! characters as escapes (`\x1b`, `\r`) instead of sending them raw.

use std::borrow::Cow;

/// `s` with control characters (C0, DEL, C1) and bidirectional overrides shown as escapes.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    // Bidirectional embeddings, overrides and isolates reorder what follows them on screen.
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(visible("main::run"), "main::run");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(visible("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(visible("x\ry\nz\t"), "x\\ry\\nz\\t");
        assert_eq!(visible("\u{9b}2J"), "\\x9b2J");
        assert_eq!(visible("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(visible("naïve ünïcode → ok"), "naïve ünïcode → ok");
    }
}
