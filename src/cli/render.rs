//! `famsim render`: one W+ latent → one portrait, with the checkpoint's stored
//! noise so the same latent always gives the same bytes.

use crate::error::Result;
use crate::exports::atomic::write_atomic;
use crate::exports::png::encode_png;
use crate::io::npy;
use crate::model::stylegene::face_model::{load, LoadOptions, NeuralFaceModel, Parts};
use crate::scenario::format::DeviceSpec;
use std::path::{Path, PathBuf};

/// Options every research command shares: where the weights are and where to run.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// A directory written by `famsim weights import`.
    #[arg(long, value_name = "DIR")]
    pub weights: PathBuf,
    /// cpu, cuda or cuda:N (cuda needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu", value_parser = crate::model::stylegene::device::parse_device)]
    pub device: DeviceSpec,
}

impl ModelArgs {
    /// Loads the networks a command needs; `with_pool` for commands that draw
    /// from the gene pool (the others skip reading it, which for the official
    /// pool takes a while).
    pub fn load(&self, parts: Parts, with_pool: bool) -> Result<Box<dyn NeuralFaceModel>> {
        self.load_with(parts, with_pool, 1.0)
    }

    /// Loads the model with truncation ψ for latents drawn from seeds.
    pub fn load_with(
        &self,
        parts: Parts,
        with_pool: bool,
        truncation: f32,
    ) -> Result<Box<dyn NeuralFaceModel>> {
        load(
            &self.weights,
            LoadOptions {
                device: self.device,
                batch: 8,
                truncation,
                with_pool,
                image_size: None,
                parts,
            },
        )
    }
}

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

/// Writes a PNG atomically, creating its folder.
pub fn write_png(path: &Path, image: &crate::model::Image) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    }
    write_atomic(path, &encode_png(image)?)
}
