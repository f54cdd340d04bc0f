//! A render's progress as the page sees it: `progress` events with the
//! people drawn so far (the engine's own counter) and the step the engine
//! is in. A neural render can take minutes, so its steps are told as they
//! start: the engine's calls into the face model are the steps (photos
//! aligned and encoded, genes decoded, genomes encoded, faces rendered),
//! and [`Stages`] wraps the model to see them without the engine knowing.

use super::session::Session;
use crate::engine::Progress;
use crate::error::Result;
use crate::genetics::genome::{GeneSample, GeneShape, Genome};
use crate::genetics::pool::GenePool;
use crate::genetics::{Inheritance, Region};
use crate::model::{FaceModel, Image, Latent, Subject};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Sends one render's `progress` events. Every event goes out under one
/// lock, in the order its count was read, so `done` never goes back.
pub struct Reporter {
    session: Arc<Session>,
    job: u64,
    total: u64,
    pub progress: Progress,
    first: &'static str,
    /// The last event sent: (stage, done).
    last: Mutex<(&'static str, u64)>,
}

impl Reporter {
    /// `first` is the stage told until the engine tells another: a
    /// procedural render tells none, so its people counted are "faces".
    pub fn new(
        session: Arc<Session>,
        job: u64,
        total: u64,
        progress: Progress,
        first: &'static str,
    ) -> Reporter {
        Reporter {
            session,
            job,
            total,
            progress,
            first,
            last: Mutex::new(("", u64::MAX)),
        }
    }

    /// Tells the page that `stage` is under way, with the people done so
    /// far; nothing when neither changed since the last event.
    pub fn report(&self, stage: &'static str) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let done = self.progress.position();
        if *last == (stage, done) {
            return;
        }
        *last = (stage, done);
        self.session.emit(json!({
            "type": "progress",
            "job": self.job,
            "stage": stage,
            "done": done,
            "total": self.total,
        }));
    }

    /// The people done, in the current stage (for a timer that looks now
    /// and then while a step runs).
    pub fn tick(&self) {
        let stage = self.last.lock().map(|l| l.0).unwrap_or("");
        self.report(if stage.is_empty() { self.first } else { stage })
    }
}

/// A face model that reports each step the engine starts.
pub struct Stages {
    pub inner: Arc<dyn FaceModel>,
    pub reporter: Arc<Reporter>,
}

impl FaceModel for Stages {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn gene_shape(&self) -> GeneShape {
        self.inner.gene_shape()
    }
    fn fine_layer_start(&self) -> usize {
        self.inner.fine_layer_start()
    }
    fn image_size(&self) -> u32 {
        self.inner.image_size()
    }
    fn preferred_batch(&self) -> usize {
        self.inner.preferred_batch()
    }
    fn gene_pool(&self) -> &GenePool {
        self.inner.gene_pool()
    }
    fn encode(&self, latents: &[&Latent]) -> Result<Vec<Genome>> {
        self.reporter.report("genomes");
        self.inner.encode(latents)
    }
    fn decode(&self, genes: &[&GeneSample]) -> Result<Vec<Latent>> {
        self.reporter.report("genes");
        self.inner.decode(genes)
    }
    fn latent_from_rng(&self, rng: &mut ChaCha8Rng, subject: Subject) -> Result<Latent> {
        self.reporter.report("founders");
        self.inner.latent_from_rng(rng, subject)
    }
    fn render(&self, latents: &[&Latent], subjects: &[Subject]) -> Result<Vec<Image>> {
        self.reporter.report("faces");
        self.inner.render(latents, subjects)
    }
    fn inherit_fine_layers(
        &self,
        child: &mut Latent,
        father: &Latent,
        mother: &Latent,
        pins: &BTreeMap<Region, Inheritance>,
    ) {
        self.inner.inherit_fine_layers(child, father, mother, pins)
    }
    fn load_latent(&self, path: &Path) -> Result<Latent> {
        self.inner.load_latent(path)
    }
    fn latent_from_photo(&self, path: &Path) -> Result<Latent> {
        self.reporter.report("photos");
        self.inner.latent_from_photo(path)
    }
    fn latent_from_aligned_photo(&self, path: &Path) -> Result<Latent> {
        self.reporter.report("photos");
        self.inner.latent_from_aligned_photo(path)
    }
}
