//! Procedural model throughput: faces per second at 256 px, in batches of 8.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use famsim::attributes::{AgeGroup, Ancestry, Sex};
use famsim::genetics::rng::{stream, Purpose};
use famsim::model::procedural::ProceduralModel;
use famsim::model::{FaceModel, Latent, Subject};

const BATCH: usize = 8;

fn render(c: &mut Criterion) {
    let model = ProceduralModel::new(256).expect("256 px is a valid size");
    let subjects: Vec<Subject> = (0..BATCH)
        .map(|i| Subject {
            age: AgeGroup::ALL[i % AgeGroup::ALL.len()],
            sex: Sex::ALL[i % 2],
            ancestry: Some(Ancestry::ALL[i % Ancestry::ALL.len()]),
        })
        .collect();
    let latents: Vec<Latent> = subjects
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let mut rng = stream(1, &format!("bench{i}"), Purpose::Founder);
            model.latent_from_rng(&mut rng, s).expect("founder")
        })
        .collect();
    let refs: Vec<&Latent> = latents.iter().collect();

    let mut group = c.benchmark_group("procedural");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("render_256px_batch8", |b| {
        b.iter_batched(
            || (),
            |_| model.render(&refs, &subjects).expect("render"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
