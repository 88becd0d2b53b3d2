//! Renderers: take a computed result and format it (terminal, Markdown, JSON, SVG, HTML).
pub mod compare;
pub mod flamegraph;
pub mod runs;
pub mod terminal;
pub mod top;
