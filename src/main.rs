use clap::Parser;
use famsim::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => famsim::cli::run::run(args),
        Command::Check { scenario } => famsim::cli::check::check(&scenario),
        Command::Dataset(args) => famsim::cli::dataset::dataset(args),
        Command::Export(args) => famsim::cli::export::export(args),
        Command::Merge(args) => famsim::cli::merge::merge(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", famsim::cli::render_error(&err));
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
