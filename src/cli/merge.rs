//! `famsim merge`: join the run directories of a cluster run without shared storage.

use super::MergeArgs;
use crate::engine::merge::merge_run_dirs;
use crate::error::Result;

pub fn merge(args: MergeArgs) -> Result<()> {
    let report = merge_run_dirs(&args.dirs, &args.out)?;
    eprintln!(
        "{} people; {} files copied → {}",
        report.people,
        report.copied,
        args.out.display()
    );
    Ok(())
}
