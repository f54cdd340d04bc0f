use clap::Parser;
use famsim::cli::{Cli, Command};
use std::process::ExitCode;

/// See Cargo.toml: large activations are reused instead of mapped afresh.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => famsim::cli::run::run(args),
        Command::Check { scenario } => famsim::cli::check::check(&scenario),
        Command::Dataset(args) => famsim::cli::dataset::dataset(args),
        Command::Export(args) => famsim::cli::export::export(args),
        Command::Merge(args) => famsim::cli::merge::merge(args),
        Command::Weights { command } => famsim::cli::weights::run(command),
        Command::Render(args) => famsim::cli::render::run(args),
        Command::Genes { command } => famsim::cli::genes::run(command),
        Command::Sample(args) => famsim::cli::sample::run(args),
        Command::Invert(args) => famsim::cli::invert::run(args),
        Command::Child(args) => famsim::cli::child::run(args),
        Command::Pool { command } => famsim::cli::pool::run(command),
        Command::Align(args) => famsim::cli::align::run(args),
        Command::Eval(args) => famsim::cli::eval::eval(args),
        Command::Devices => famsim::cli::devices::run(),
        Command::Serve(args) => famsim::cli::serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", famsim::cli::render_error(&err));
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
