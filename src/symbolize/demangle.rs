//! Turning linker (mangled) names into the names people read: Rust (legacy and v0, via
//! rustc-demangle, without the `::h<16 hex>` hash) and C++ (Itanium ABI, via cpp_demangle).
//! The mangled name stays available as the function's `system_name`.

/// Demangle `raw` for display. `lang` is the DWARF unit language when known.
pub fn demangle(raw: &str, lang: Option<gimli::DwLang>) -> String {
    let rust_first = match lang {
        Some(gimli::DW_LANG_Rust) => true,
        Some(l) if is_cpp(l) => false,
        _ => raw.starts_with("_R") || looks_like_rust_legacy(raw),
    };
    if rust_first {
        if let Some(s) = rust(raw) {
            return s;
        }
        if let Some(s) = cpp(raw) {
            return s;
        }
    } else {
        if let Some(s) = cpp(raw) {
            return s;
        }
        if let Some(s) = rust(raw) {
            return s;
        }
    }
    strip_rust_hash(raw).to_string()
}

fn is_cpp(l: gimli::DwLang) -> bool {
    matches!(
        l,
        gimli::DW_LANG_C_plus_plus
            | gimli::DW_LANG_C_plus_plus_03
            | gimli::DW_LANG_C_plus_plus_11
            | gimli::DW_LANG_C_plus_plus_14
    ) || l.0 == 0x003a // DW_LANG_C_plus_plus_17 (DWARF 6 draft / gcc)
        || l.0 == 0x003b // C++20
}

/// Legacy Rust symbols end in `17h<16 hex>E`.
fn looks_like_rust_legacy(raw: &str) -> bool {
    let s = raw.split(".llvm.").next().unwrap_or(raw);
    raw.starts_with("_ZN")
        && s.len() > 20
        && s.ends_with('E')
        && s[s.len() - 20..s.len() - 17] == *"17h"
        && s[s.len() - 17..s.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

fn rust(raw: &str) -> Option<String> {
    if !(raw.starts_with("_R") || raw.starts_with("_ZN") || raw.starts_with("__ZN")) {
        return None;
    }
    let d = rustc_demangle::try_demangle(raw).ok()?;
    Some(format!("{d:#}"))
}

fn cpp(raw: &str) -> Option<String> {
    if !raw.starts_with("_Z") {
        return None;
    }
    let sym = cpp_demangle::Symbol::new(raw).ok()?;
    sym.demangle(&cpp_demangle::DemangleOptions::default())
        .ok()
        .map(tidy_empty_packs)
}

/// cpp_demangle prints an empty template parameter pack as `<int, >` and its expansion in a
/// parameter list as `, &&`; neither is valid C++, libiberty prints nothing. Drop them.
fn tidy_empty_packs(s: String) -> String {
    if !s.contains(", >") && !s.contains(", &&") && !s.contains("(&&") {
        return s;
    }
    s.replace(", >", ">")
        .replace(", &&)", ")")
        .replace(", &&,", ",")
        .replace("(&&)", "()")
}

/// Remove a trailing `::h<16 hex>` from an already demangled Rust name.
pub fn strip_rust_hash(name: &str) -> &str {
    if name.len() > 19 {
        let (head, tail) = name.split_at(name.len() - 19);
        if tail.starts_with("::h") && tail[3..].bytes().all(|b| b.is_ascii_hexdigit()) {
            return head;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_legacy_v0_and_cpp() {
        assert_eq!(
            demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE", None),
            "core::ptr::drop_in_place"
        );
        assert_eq!(
            demangle("_RNvCs1234_7mycrate3foo", Some(gimli::DW_LANG_Rust)),
            "mycrate::foo"
        );
        assert_eq!(
            demangle("_ZN2ns3addIiEET_S1_S1_", None),
            "int ns::add<int>(int, int)"
        );
        assert_eq!(
            demangle("_Z3fooi", Some(gimli::DW_LANG_C_plus_plus)),
            "foo(int)"
        );
        assert_eq!(demangle("main", None), "main");
        assert_eq!(
            demangle("_ZSt10_ConstructIiJEEvPT_DpOT0_", None),
            "void std::_Construct<int>(int*)"
        );
        assert_eq!(strip_rust_hash("a::b::h0123456789abcdef"), "a::b");
    }
}
