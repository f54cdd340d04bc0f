//! famsim simulates families and paints a face for every person in them.
//!
//! The modules follow the data flow:
//! [`scenario`] → [`pedigree`] → [`genetics`] → [`model`] → [`engine`] → [`exports`].

pub mod attributes;
pub mod cli;
pub mod dataset;
pub mod engine;
pub mod error;
pub mod exports;
pub mod genetics;
pub mod io;
pub mod model;
pub mod pedigree;
pub mod scenario;
pub mod weights;

pub use error::{Error, Result};
