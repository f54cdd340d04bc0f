//! `famsim serve`: the family designer in the browser (see `crate::serve`).

use crate::error::{Error, Result};
use crate::serve::{serve, Limits, ServeOptions};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A scenario (.ron) every new session opens with (default: a blank couple).
    pub scenario: Option<PathBuf>,
    /// Address to listen on; anything but a loopback address prints a warning.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port (0 picks a free one; the address is printed either way).
    #[arg(long, default_value_t = 7860)]
    pub port: u16,
    /// Folder for the sessions' workspaces.
    #[arg(long, default_value = "famsim-serve-data")]
    pub data: PathBuf,
    /// A weights folder (`famsim weights import`): the neural model and photo founders.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Require this token from every browser (open the page with ?token=T once).
    #[arg(long)]
    pub token: Option<String>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    if args.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::input("--token is empty"));
    }
    serve(ServeOptions {
        scenario: args.scenario,
        bind: args.bind,
        port: args.port,
        data: args.data,
        weights: args.weights,
        token: args.token,
        limits: Limits::default(),
    })
}
