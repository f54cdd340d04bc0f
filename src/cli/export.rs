//! `famsim export RUN_DIR --gedcom --dot --html`, and the same flags on `famsim run`:
//! genealogy and graph views of any run directory, made from its manifest.
//! The flags come from the export registry ([`crate::exports::EXPORTS`]).

use crate::error::{Error, Result};
use crate::exports::manifest::Manifest;
use crate::exports::{write_exports, Export, EXPORTS};
use clap::{Arg, ArgAction, ArgMatches};
use std::path::PathBuf;

// Older paths to the file names; they live in the registry now.
pub use crate::exports::{DOT_FILE, GEDCOM_FILE, HTML_FILE};

/// Which exports to write: one `--FLAG` per entry of [`EXPORTS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFlags {
    /// The chosen entries' flags, in registry order.
    chosen: Vec<&'static str>,
}

impl ExportFlags {
    pub fn any(&self) -> bool {
        !self.chosen.is_empty()
    }

    /// The chosen exports, in registry order.
    pub fn chosen(&self) -> impl Iterator<Item = &'static Export> + '_ {
        EXPORTS.iter().filter(|e| self.chosen.contains(&e.flag))
    }
}

impl clap::FromArgMatches for ExportFlags {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        Ok(ExportFlags {
            chosen: EXPORTS
                .iter()
                .filter(|e| matches.get_flag(e.flag))
                .map(|e| e.flag)
                .collect(),
        })
    }

    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for ExportFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        EXPORTS.iter().fold(cmd, |cmd, e| {
            cmd.arg(
                Arg::new(e.flag)
                    .long(e.flag)
                    .action(ArgAction::SetTrue)
                    .help(e.help),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A run directory (one with `manifest.json`; a dataset's `FIDxxxx` folder is one).
    pub run_dir: PathBuf,
    /// Without any of these flags, every export is written.
    #[command(flatten)]
    pub flags: ExportFlags,
}

pub fn export(args: ExportArgs) -> Result<()> {
    let manifest_path = args.run_dir.join("manifest.json");
    if !manifest_path.is_file() {
        return Err(Error::input(format!(
            "{} has no manifest.json: give a folder written by `famsim run` (or a dataset's FIDxxxx folder)",
            args.run_dir.display()
        )));
    }
    let manifest = Manifest::read(&manifest_path)?;
    let written = if args.flags.any() {
        write_exports(&manifest, &args.run_dir, args.flags.chosen())?
    } else {
        write_exports(&manifest, &args.run_dir, EXPORTS)?
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(())
}
