//! A contact sheet of the procedural painter's faces, for looking at them:
//! one row per ancestry across seven age groups (founders drawn from the
//! priors), then a family row (father, mother and five children made by
//! crossover, the fine layers averaged as in a run).
//!
//!     cargo run --example procedural_preview -- OUT.png [SIZE] [ROW]
//!
//! SIZE is the face size in pixels (default 192); ROW, when given, keeps only
//! that ancestry row (0 to 6) before the family row.

use famsim::attributes::{AgeGroup, Ancestry, PoolKey, Sex};
use famsim::exports::png::encode_png;
use famsim::genetics::rng::{stream, Purpose};
use famsim::genetics::{crossover, CrossoverParams, GeneSample, Genome};
use famsim::model::procedural::{priors, ProceduralModel};
use famsim::model::{FaceModel, Image, Latent, Subject};
use rand::Rng;
use std::collections::BTreeMap;

fn subject(age: AgeGroup, sex: Sex) -> Subject {
    Subject {
        age,
        sex,
        ancestry: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: procedural_preview OUT.png [SIZE] [ROW]")?;
    let size: u32 = match args.next() {
        Some(s) => s.parse()?,
        None => 192,
    };
    let only_row: Option<usize> = args.next().map(|s| s.parse()).transpose()?;
    let m = ProceduralModel::new(size)?;
    let mut cells: Vec<Image> = Vec::new();
    let ages = [
        AgeGroup::Age0To2,
        AgeGroup::Age3To9,
        AgeGroup::Age10To19,
        AgeGroup::Age20To29,
        AgeGroup::Age30To39,
        AgeGroup::Age50To59,
        AgeGroup::Age70Plus,
    ];
    for (row, &ancestry) in Ancestry::ALL.iter().enumerate() {
        if only_row.is_some_and(|r| r != row) {
            continue;
        }
        for (col, &age) in ages.iter().enumerate() {
            let sex = Sex::ALL[(row + col) % 2];
            let key = PoolKey { age, sex, ancestry };
            let mut rng = stream(row as u64 * 31 + col as u64, "preview", Purpose::Founder);
            let l = priors::draw(key, &mut rng).into_latent();
            cells.extend(m.render(&[&l], &[subject(age, sex)])?);
        }
    }

    // The family row: two adults from the pool, then their children.
    let pool = m.gene_pool();
    let mut rng = stream(7, "parents", Purpose::Founder);
    let mut pick = |sex: Sex| {
        let a = Ancestry::ALL[rng.random_range(0..Ancestry::ALL.len())];
        let bucket = pool.bucket(&PoolKey {
            age: AgeGroup::Age30To39,
            sex,
            ancestry: a,
        });
        (bucket[rng.random_range(0..bucket.len())].clone(), a)
    };
    let (father, fa) = pick(Sex::Male);
    let (mother, ma) = pick(Sex::Female);
    let decode_mean = |g: &Genome| -> Result<Latent, famsim::Error> {
        let sample = GeneSample {
            shape: g.shape,
            values: g.mean.clone(),
        };
        Ok(m.decode(&[&sample])?.remove(0))
    };
    let (f, mo) = (decode_mean(&father)?, decode_mean(&mother)?);
    let adult = |sex| subject(AgeGroup::Age30To39, sex);
    cells.extend(m.render(&[&f, &mo], &[adult(Sex::Male), adult(Sex::Female)])?);
    for i in 0..5u64 {
        let sex = Sex::ALL[i as usize % 2];
        let cands = pool.candidates(AgeGroup::Age3To9, sex, &[fa, ma])?;
        let child = crossover(
            &father,
            &mother,
            &cands.entries,
            CrossoverParams::default(),
            &BTreeMap::new(),
            &mut stream(i, "kid", Purpose::Crossover),
        );
        let genes = child
            .genome
            .sample(&mut stream(i, "kid", Purpose::GeneSample));
        let mut c = m.decode(&[&genes])?.remove(0);
        c.average_fine_layers(&f, &mo, m.fine_layer_start());
        let age = [AgeGroup::Age3To9, AgeGroup::Age20To29][i as usize % 2];
        cells.extend(m.render(&[&c], &[subject(age, sex)])?);
    }

    let cols = ages.len() as u32;
    let rows = (cells.len() as u32).div_ceil(cols);
    let (w, h) = (cols * size, rows * size);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    let row_bytes = (size * 3) as usize;
    for (i, img) in cells.iter().enumerate() {
        let (cx, cy) = (i as u32 % cols * size, i as u32 / cols * size);
        for y in 0..size {
            let src = (y * size * 3) as usize;
            let dst = (((cy + y) * w + cx) * 3) as usize;
            rgb[dst..dst + row_bytes].copy_from_slice(&img.rgb[src..src + row_bytes]);
        }
    }
    let sheet = Image {
        width: w,
        height: h,
        rgb,
    };
    std::fs::write(&out, encode_png(&sheet)?)?;
    eprintln!("{} faces → {out}", cells.len());
    Ok(())
}
