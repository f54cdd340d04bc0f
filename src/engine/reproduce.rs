//! The method's reproduction step: the one place where two parents become a
//! child. `famsim run` and `famsim dataset` reach it through the engine,
//! which runs the two halves below for a whole generation with the model's
//! decoder batched in between; `famsim child` runs [`reproduce`] for one
//! child. Both make the same child from the same parents, seed and id.
//!
//! 1. [`conceive`]: the child's gene-pool candidates (age, sex, the parents'
//!    ancestries), crossover and mutation of the parents' genomes, and one
//!    concrete gene drawn from the child's distributions. Every draw comes
//!    from the child's own random streams (seed + id), so batching and thread
//!    order never change a child.
//! 2. The model decodes the gene into a W+ latent.
//! 3. [`inherit_colour`]: the fine layers (colour and texture) become the
//!    parents' average, by the model's rule (which may honour region pins).

use crate::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use crate::error::{Error, Result};
use crate::genetics::rng::{stream, Purpose};
use crate::genetics::{crossover, ChildGenes, CrossoverParams, GeneSample, Genome};
use crate::genetics::{Inheritance, Region};
use crate::latent::Latent;
use crate::model::FaceModel;
use std::collections::BTreeMap;

/// Who the child is, as far as reproduction cares.
#[derive(Clone, Copy, Debug)]
pub struct ChildSpec<'a> {
    /// Names the child's random streams.
    pub id: &'a str,
    pub age: AgeGroup,
    pub sex: Sex,
    /// Pool ancestries the child may draw from (the parents' ancestries).
    pub ancestries: &'a [Ancestry],
    pub params: CrossoverParams,
    /// Regions the scenario pins to a parent, the pool or the blend.
    pub pins: &'a BTreeMap<Region, Inheritance>,
}

/// A child's genes, before the model turns them into a face.
#[derive(Clone, Debug)]
pub struct Conception {
    /// The child's genome and where each region came from.
    pub genes: ChildGenes,
    /// The concrete gene drawn from the child's genome, for the decoder.
    pub gene: GeneSample,
    /// The pool keys the mutations drew from.
    pub pool_keys: Vec<PoolKey>,
    /// Set when the pool had no entry of the child's age and a neighbouring
    /// age group (or any ancestry) was used.
    pub warning: Option<String>,
}

/// Step 1 (see the module doc). `Err` when the pool holds nothing the child
/// could draw from; the message does not name the child.
pub fn conceive(
    model: &(impl FaceModel + ?Sized),
    father: &Genome,
    mother: &Genome,
    child: &ChildSpec,
    seed: u64,
) -> std::result::Result<Conception, String> {
    let pool = model
        .gene_pool()
        .candidates(child.age, child.sex, child.ancestries)?;
    let genes = crossover(
        father,
        mother,
        &pool.entries,
        child.params,
        child.pins,
        &mut stream(seed, child.id, Purpose::Crossover),
    );
    let gene = genes
        .genome
        .sample(&mut stream(seed, child.id, Purpose::GeneSample));
    Ok(Conception {
        genes,
        gene,
        pool_keys: pool.keys,
        warning: pool.warning,
    })
}

/// Step 3 (see the module doc): `latent`, decoded from the child's gene,
/// takes its fine layers from the parents' latents.
pub fn inherit_colour(
    model: &(impl FaceModel + ?Sized),
    latent: &mut Latent,
    father: &Latent,
    mother: &Latent,
    pins: &BTreeMap<Region, Inheritance>,
) {
    model.inherit_fine_layers(latent, father, mother, pins);
}

/// A parent as reproduction needs them: the genome they pass on and the
/// latent of their face.
#[derive(Clone, Copy, Debug)]
pub struct Parent<'a> {
    pub genome: &'a Genome,
    pub latent: &'a Latent,
}

/// The whole step for one child: its genes and its W+ latent.
pub fn reproduce(
    model: &(impl FaceModel + ?Sized),
    father: Parent,
    mother: Parent,
    child: &ChildSpec,
    seed: u64,
) -> Result<(Conception, Latent)> {
    let conception =
        conceive(model, father.genome, mother.genome, child, seed).map_err(Error::input)?;
    let mut latent = model
        .decode(&[&conception.gene])?
        .pop()
        .ok_or_else(|| Error::internal("the model decoded no latent for one gene"))?;
    inherit_colour(model, &mut latent, father.latent, mother.latent, child.pins);
    Ok((conception, latent))
}
