//! `famsim render`: one W+ latent → one portrait, with the checkpoint's stored
//! noise so the same latent always gives the same bytes.

use super::model_args::ModelArgs;
use crate::error::Result;
use crate::exports::png::write_png;
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// W+ latent, [N, W] or [1, N, W] float32 .npy.
    #[arg(long, value_name = "W.npy")]
    pub latent: PathBuf,
    /// The portrait to write (.png).
    #[arg(long, value_name = "IMG.png")]
    pub out: PathBuf,
    /// Also write the raw generator output, [1, 3, size, size] in [-1, 1].
    #[arg(long, value_name = "OUT.npy")]
    pub raw: Option<PathBuf>,
}

pub fn run(args: RenderArgs) -> Result<()> {
    let model = args.model.load(Parts::Generator, false)?;
    let gene = model.gene_shape();
    let latent = npy::read_latent(&args.latent, Some(gene.layers), gene.width)?;
    let (mut images, raw) = model.render_raw(&[&latent])?;
    let image = images.remove(0);
    write_png(&args.out, &image)?;
    if let Some(path) = &args.raw {
        let side = image.width as usize;
        npy::write(path, &[1, 3, side, side], &raw)?;
    }
    Ok(())
}
