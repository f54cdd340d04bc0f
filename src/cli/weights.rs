//! `famsim weights import|info`: official checkpoints → a weights directory, and what one holds.

use crate::error::Result;
use crate::model::stylegene::import::{import, ImportRequest};
use crate::model::stylegene::weights::ModelInfo;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
// Parsed once per process from the command line, so the size difference
// between `Import`'s many paths and `Info` costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum WeightsCommand {
    /// Read the official PyTorch files and write a famsim weights directory.
    Import {
        /// StyleGAN2 generator (rosinality layout), e.g. stylegan2-ffhq-config-f.pt.
        #[arg(long, value_name = "FILE.pt")]
        stylegan2: PathBuf,
        /// StyleGene gene mappings, e.g. stylegene_N18.ckpt.
        #[arg(long, value_name = "FILE.ckpt")]
        stylegene: PathBuf,
        /// StyleGene gene pool, e.g. geneFactorPool.pkl.
        #[arg(long, value_name = "FILE.pkl")]
        gene_pool: Option<PathBuf>,
        /// e4e photo encoder, e4e_ffhq_encode.pt: founders from photos (`genes: Photo(…)`, `famsim invert`).
        #[arg(long, value_name = "FILE.pt")]
        e4e: Option<PathBuf>,
        /// dlib's shape_predictor_68_face_landmarks.dat or .dat.bz2, copied as given: `famsim align --weights`.
        #[arg(long, value_name = "FILE")]
        landmarks: Option<PathBuf>,
        /// SeetaFace's seeta_fd_frontal_v1.0.bin face detector, copied: `famsim align --weights`.
        #[arg(long, value_name = "FILE")]
        detector: Option<PathBuf>,
        /// dlib's dlib_face_recognition_resnet_model_v1.dat or .dat.bz2 (128-D face descriptor), copied as given.
        #[arg(long, value_name = "FILE")]
        descriptor: Option<PathBuf>,
        /// dlib's shape_predictor_5_face_landmarks.dat or .dat.bz2 (the descriptor's chips), copied as given.
        #[arg(long, value_name = "FILE")]
        landmarks5: Option<PathBuf>,
        /// FairFace's res34_fair_align_multi_7_20190809.pt: race, gender and age of photographed parents.
        #[arg(long, value_name = "FILE.pt")]
        fairface: Option<PathBuf>,
        /// The weights directory to write, e.g. weights/ffhq.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print the architecture, gene pool and files of a weights directory.
    Info {
        /// A directory written by `famsim weights import`.
        dir: PathBuf,
    },
}

pub fn run(command: WeightsCommand) -> Result<()> {
    match command {
        WeightsCommand::Import {
            stylegan2,
            stylegene,
            gene_pool,
            e4e,
            landmarks,
            detector,
            descriptor,
            landmarks5,
            fairface,
            out,
        } => {
            let info = import(&ImportRequest {
                stylegan2,
                stylegene,
                gene_pool,
                e4e,
                landmarks,
                detector,
                descriptor,
                landmarks5,
                fairface,
                out: out.clone(),
            })?;
            print!("{}", info.describe(&out));
            Ok(())
        }
        WeightsCommand::Info { dir } => {
            print!("{}", ModelInfo::read(&dir)?.describe(&dir));
            Ok(())
        }
    }
}
