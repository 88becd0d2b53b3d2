//! Symbolization: addresses to functions, files and lines, in-process (see issue 4).
