//! `famsim genes encode|decode`: the two StyleGene mappings on .npy files.

use super::model_args::ModelArgs;
use crate::error::{Error, Result};
use crate::genetics::genome::GeneSample;
use crate::genetics::region::REGION_COUNT;
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum GenesCommand {
    /// W+ latent → genome: writes mean.npy and logvar.npy, [1, N, 34, W] each.
    Encode {
        #[command(flatten)]
        model: ModelArgs,
        /// W+ latent, [N, W] or [1, N, W].
        #[arg(long, value_name = "W.npy")]
        latent: PathBuf,
        /// Folder for mean.npy and logvar.npy.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Concrete genes → W+ latent, [1, N, W].
    Decode {
        #[command(flatten)]
        model: ModelArgs,
        /// Genes, [N, 34, W] or [1, N, 34, W] (a drawn gene, or a genome's mean).
        #[arg(long, value_name = "G.npy")]
        genome: PathBuf,
        /// The latent to write.
        #[arg(long, value_name = "W.npy")]
        out: PathBuf,
    },
}

pub fn run(command: GenesCommand) -> Result<()> {
    match command {
        GenesCommand::Encode { model, latent, out } => {
            let model = model.load(Parts::Encoder, false)?;
            let shape = model.gene_shape();
            let latent = npy::read_latent(&latent, Some(shape.layers), shape.width)?;
            let genome = model.encode(&[&latent])?.remove(0);
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            let dims = [1, shape.layers, REGION_COUNT, shape.width];
            npy::write(&out.join("mean.npy"), &dims, &genome.mean)?;
            npy::write(&out.join("logvar.npy"), &dims, &genome.logvar)
        }
        GenesCommand::Decode { model, genome, out } => {
            let model = model.load(Parts::Decoder, false)?;
            let shape = model.gene_shape();
            let array = npy::read(&genome)?;
            let want = [shape.layers, REGION_COUNT, shape.width];
            let ok = array.shape[..] == want || array.shape[..] == [1, want[0], want[1], want[2]];
            if !ok {
                let (n, w) = (shape.layers, shape.width);
                return Err(Error::input(format!(
                    "{}: genes must be [{n}, 34, {w}] or [1, {n}, 34, {w}] for this model, got {}",
                    genome.display(),
                    array.shape_text()
                )));
            }
            let latent = model
                .decode(&[&GeneSample {
                    shape,
                    values: array.data,
                }])?
                .remove(0);
            npy::write_latent(&out, &latent)
        }
    }
}
