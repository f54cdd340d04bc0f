//! Genetics throughput at the official size: mean and log-variance of
//! 18 × 34 × 512 f32 each (StyleGene at 1024 px). Reports children per second
//! for the crossover alone and for crossover plus drawing the concrete gene.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::{crossover, CrossoverParams, GeneShape, Genome};
use rand::Rng;
use std::collections::BTreeMap;

fn random_genome(seed: u64) -> Genome {
    let shape = GeneShape::STYLEGENE_1024;
    let mut rng = stream(seed, "bench", Purpose::Model);
    Genome {
        shape,
        mean: (0..shape.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
        logvar: (0..shape.len())
            .map(|_| rng.random_range(-3.0..0.0))
            .collect(),
    }
}

fn bench_genetics(c: &mut Criterion) {
    let father = random_genome(1);
    let mother = random_genome(2);
    let pool: Vec<Genome> = (10..18).map(random_genome).collect();
    let pool_refs: Vec<&Genome> = pool.iter().collect();
    let overrides = BTreeMap::new();
    let mut group = c.benchmark_group("genetics_18x34x512");
    group.throughput(Throughput::Elements(1));
    let mut child_id = 0u64;
    group.bench_function("crossover_child", |b| {
        b.iter(|| {
            child_id += 1;
            let mut rng = stream(child_id, "child", Purpose::Crossover);
            crossover(
                &father,
                &mother,
                &pool_refs,
                CrossoverParams::default(),
                &overrides,
                &mut rng,
            )
        })
    });
    group.bench_function("crossover_and_sample_child", |b| {
        b.iter(|| {
            child_id += 1;
            let mut rng = stream(child_id, "child", Purpose::Crossover);
            let child = crossover(
                &father,
                &mother,
                &pool_refs,
                CrossoverParams::default(),
                &overrides,
                &mut rng,
            );
            child
                .genome
                .sample(&mut stream(child_id, "child", Purpose::GeneSample))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_genetics);
criterion_main!(benches);
