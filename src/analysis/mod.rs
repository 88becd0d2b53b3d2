//! Analyses: plain functions over [`crate::model::Profile`] that compute results. They never
//! parse input and never print.
pub mod diff;
pub mod gate;
pub mod stats;
pub mod top;
