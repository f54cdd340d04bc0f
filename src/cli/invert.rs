//! `famsim invert`: a face photo → its W+ latent, through the e4e photo
//! encoder (what StyleGene's demo does to the parents' photos), optionally
//! rendered back to see how faithful the inversion is.

use super::model_args::ModelArgs;
use crate::error::Result;
use crate::exports::png::write_png;
use crate::io::npy;
use crate::model::stylegene::face_model::Parts;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct InvertArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// An aligned, square face crop (PNG or JPEG; FFHQ alignment, as e4e was
    /// trained on), resized to the encoder's input size (256 px officially).
    #[arg(long, value_name = "FACE.png")]
    pub photo: PathBuf,
    /// The W+ latent to write, [1, N, W] float32 .npy.
    #[arg(long, value_name = "W.npy")]
    pub out: PathBuf,
    /// Also render the latent with the generator (stored noise).
    #[arg(long, value_name = "IMG.png")]
    pub render: Option<PathBuf>,
}

pub fn run(args: InvertArgs) -> Result<()> {
    let parts = match args.render {
        // The generator now; the photo encoder loads with the first photo.
        Some(_) => Parts::Generator,
        None => Parts::PhotoEncoder,
    };
    let model = args.model.load(parts, false)?;
    let latent = model.latent_from_photo(&args.photo)?;
    npy::write_latent(&args.out, &latent)?;
    if let Some(path) = &args.render {
        let (mut images, _) = model.render_raw(&[&latent])?;
        write_png(path, &images.remove(0))?;
    }
    Ok(())
}
