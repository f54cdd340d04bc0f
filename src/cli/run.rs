//! `famsim run`: simulate a scenario end to end.

use super::RunArgs;
use crate::error::{Error, Result};

pub fn run(args: RunArgs) -> Result<()> {
    let _ = args;
    Err(Error::internal("famsim run is being wired up"))
}
