//! famsim simulates families and paints a face for every person in them.
//!
//! The modules follow the data flow:
//! [`scenario`] → [`pedigree`] → [`genetics`] → [`model`] → [`engine`] → [`exports`].
//! Plain data they share ([`latent`], [`image`], [`model_spec`],
//! [`attributes`]) sits in leaf modules, so no module imports one that
//! imports it back (`tests/module_cycles.rs`). ARCHITECTURE.md has the map.

pub mod align;
pub mod attributes;
pub mod cli;
pub mod dataset;
pub mod describe;
pub mod dlib;
pub mod engine;
pub mod error;
pub mod eval;
pub mod exports;
pub mod genetics;
pub mod image;
pub mod io;
pub mod latent;
pub mod model;
pub mod model_spec;
pub mod pedigree;
pub mod scenario;
pub mod serve;
pub mod suggest;
pub mod weights;

pub use error::{Error, Result};
