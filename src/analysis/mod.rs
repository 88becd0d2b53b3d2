//! Analyses: plain functions over [`crate::model::Profile`] that compute results. They never
//! parse input and never print.
pub mod top;
