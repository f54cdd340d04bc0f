//! Face descriptors for every image of a folder: read in batches (only a
//! batch of images is in memory at once; what stays is one descriptor per
//! image), looked up in the cache by content hash, the rest described by the
//! face network, a progress bar counting images. An image without a
//! detectable face, or one that cannot be read as an image, is counted and
//! listed, never fatal. A person's descriptor is the mean of their images'.

use super::cache::{key_of, DescriptorCache, Key};
use super::EvalSet;
use crate::engine::Progress;
use crate::error::Result;
use crate::image::Image;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A face network that turns face images into descriptors.
pub trait Describer: Send + Sync {
    /// What the report calls it.
    fn name(&self) -> String;
    /// Identifies the network and its weights (the cache key's prefix): two
    /// describers with the same fingerprint must give the same descriptors.
    fn fingerprint(&self) -> String;
    /// Length of a descriptor.
    fn dimension(&self) -> usize;
    /// One descriptor per image; None where no face was found.
    fn describe_batch(&self, images: &[Image]) -> Result<Vec<Option<Vec<f32>>>>;
}

/// How to compute descriptors.
pub struct DescribeOptions<'a> {
    pub describer: &'a dyn Describer,
    /// Where the cache lives.
    pub cache_dir: PathBuf,
    /// Images per batch.
    pub batch: usize,
    pub progress: bool,
}

/// What was computed for a folder.
pub struct Descriptors {
    /// Per person: the mean of their images' descriptors (None without any).
    pub people: Vec<Option<Vec<f32>>>,
    pub images: usize,
    /// Images whose result came from the cache.
    pub from_cache: usize,
    /// Images the network described in this run.
    pub computed: usize,
    /// Images in which no face was found (relative to the folder).
    pub no_face: Vec<String>,
    /// Files that could not be read as images, with the reason.
    pub unreadable: Vec<String>,
}

/// Describes every image of `set`.
pub fn describe(set: &EvalSet, opts: &DescribeOptions) -> Result<Descriptors> {
    let d = opts.describer;
    let mut cache = DescriptorCache::open(&opts.cache_dir, &d.fingerprint(), d.dimension())?;
    let mut paths: Vec<&PathBuf> = set.images().collect();
    paths.sort();
    paths.dedup();
    let progress = Progress::counting(paths.len() as u64, opts.progress, "images");
    let mut result: HashMap<&Path, Option<Vec<f32>>> = HashMap::new();
    let (mut from_cache, mut computed) = (0, 0);
    let (mut no_face, mut unreadable) = (Vec::new(), Vec::new());
    let mut unreadable_paths: std::collections::HashSet<&Path> = Default::default();
    let shown = |p: &Path| p.strip_prefix(&set.root).unwrap_or(p).display().to_string();
    for chunk in paths.chunks(opts.batch.max(1)) {
        // Read and hash in parallel; decode only what the cache lacks.
        let read: Vec<std::result::Result<(Key, Vec<u8>), String>> = chunk
            .par_iter()
            .map(|p| {
                std::fs::read(p)
                    .map(|bytes| (key_of(&bytes), bytes))
                    .map_err(|e| e.to_string())
            })
            .collect();
        let mut missing: Vec<(usize, Key, Vec<u8>)> = Vec::new();
        for (i, r) in read.into_iter().enumerate() {
            match r {
                Err(e) => {
                    unreadable.push(format!("{}: {e}", shown(chunk[i])));
                    unreadable_paths.insert(chunk[i]);
                    result.insert(chunk[i], None);
                }
                Ok((key, bytes)) => match cache.get(&key) {
                    Some(hit) => {
                        from_cache += 1;
                        result.insert(chunk[i], hit.clone());
                    }
                    None => missing.push((i, key, bytes)),
                },
            }
        }
        let decoded: Vec<(usize, Key, std::result::Result<Image, String>)> = missing
            .into_par_iter()
            .map(|(i, key, bytes)| {
                let image = crate::io::photo::decode_photo(chunk[i], &bytes, false)
                    .map_err(|e| e.to_string());
                (i, key, image)
            })
            .collect();
        let mut images = Vec::new();
        let mut owners = Vec::new();
        for (i, key, image) in decoded {
            match image {
                Ok(image) => {
                    images.push(image);
                    owners.push((i, key));
                }
                Err(e) => {
                    unreadable.push(e);
                    unreadable_paths.insert(chunk[i]);
                    result.insert(chunk[i], None);
                }
            }
        }
        if !images.is_empty() {
            let described = d.describe_batch(&images)?;
            computed += described.len();
            let mut fresh = Vec::new();
            for ((i, key), value) in owners.into_iter().zip(described) {
                fresh.push((key, value.clone()));
                result.insert(chunk[i], value);
            }
            cache.insert_all(fresh)?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    for p in &paths {
        if matches!(result.get(p.as_path()), Some(None)) && !unreadable_paths.contains(p.as_path())
        {
            no_face.push(shown(p));
        }
    }
    no_face.sort();
    unreadable.sort();
    let people = set
        .people
        .iter()
        .map(|person| {
            let found: Vec<&Vec<f32>> = person
                .images
                .iter()
                .filter_map(|p| result.get(p.as_path()).and_then(|r| r.as_ref()))
                .collect();
            mean(&found)
        })
        .collect();
    Ok(Descriptors {
        people,
        images: paths.len(),
        from_cache,
        computed,
        no_face,
        unreadable,
    })
}

fn mean(vectors: &[&Vec<f32>]) -> Option<Vec<f32>> {
    let first = vectors.first()?;
    let mut sum = vec![0.0f32; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v.iter()) {
            *s += x;
        }
    }
    let n = vectors.len() as f32;
    Some(sum.into_iter().map(|s| s / n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalFamily, EvalPerson, Layout};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A stand-in network for the batching and caching machinery (the real
    /// one is dlib's): a flat-coloured image has "no face", any other is
    /// described by its mean colour. It counts the images it is shown.
    struct MeanColour(AtomicUsize);

    impl Describer for MeanColour {
        fn name(&self) -> String {
            "mean colour".into()
        }
        fn fingerprint(&self) -> String {
            "mean-colour-v1".into()
        }
        fn dimension(&self) -> usize {
            3
        }
        fn describe_batch(&self, images: &[Image]) -> Result<Vec<Option<Vec<f32>>>> {
            self.0.fetch_add(images.len(), Ordering::SeqCst);
            Ok(images
                .iter()
                .map(|im| {
                    let flat = im.rgb.chunks(3).all(|p| p == &im.rgb[..3]);
                    (!flat).then(|| {
                        (0..3)
                            .map(|c| {
                                im.rgb
                                    .iter()
                                    .skip(c)
                                    .step_by(3)
                                    .map(|&v| v as f32)
                                    .sum::<f32>()
                                    / (im.rgb.len() / 3) as f32
                            })
                            .collect()
                    })
                })
                .collect())
        }
    }

    fn image(pixels: [[u8; 3]; 2]) -> Image {
        Image {
            width: 2,
            height: 1,
            rgb: pixels.concat(),
        }
    }

    #[test]
    fn batches_cache_by_content_and_list_faceless_and_unreadable_images() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, im: &Image| {
            let path = dir.path().join(name);
            crate::exports::png::write_png(&path, im).unwrap();
            path
        };
        let a = write("a.png", &image([[10, 20, 30], [30, 40, 50]]));
        let a_copy = write("a_copy.png", &image([[10, 20, 30], [30, 40, 50]]));
        let flat = write("flat.png", &image([[9, 9, 9], [9, 9, 9]]));
        let broken = dir.path().join("broken.jpg");
        std::fs::write(&broken, b"not an image").unwrap();
        let person = |id: &str, images: Vec<PathBuf>| EvalPerson {
            id: id.into(),
            family: 0,
            sex: None,
            age: None,
            images,
            father: None,
            mother: None,
            regions: Vec::new(),
            params: None,
            genes_known: false,
        };
        let set = EvalSet {
            root: dir.path().to_path_buf(),
            layout: Layout::Fiw,
            families: vec![EvalFamily {
                fid: "F0001".into(),
                split: None,
                complete: false,
            }],
            people: vec![
                person("p", vec![a.clone(), flat.clone()]),
                person("q", vec![a_copy, broken]),
                person("r", vec![flat]),
            ],
            kin: Vec::new(),
        };
        let net = MeanColour(AtomicUsize::new(0));
        let opts = DescribeOptions {
            describer: &net,
            cache_dir: dir.path().join("cache"),
            batch: 2,
            progress: false,
        };
        let first = describe(&set, &opts).unwrap();
        assert_eq!(first.images, 4);
        // a and its byte-identical copy share a key: the second is a cache hit
        // when it falls in a later batch, or described again in the same one.
        assert_eq!(first.computed + first.from_cache, 3);
        assert_eq!(first.no_face, vec!["flat.png".to_string()]);
        assert_eq!(first.unreadable.len(), 1);
        assert!(
            first.unreadable[0].contains("broken.jpg"),
            "{:?}",
            first.unreadable
        );
        // p: mean of a's descriptor alone (flat has no face); r: none.
        assert_eq!(first.people[0], Some(vec![20.0, 30.0, 40.0]));
        assert_eq!(first.people[1], Some(vec![20.0, 30.0, 40.0]));
        assert_eq!(first.people[2], None);
        let shown = net.0.load(Ordering::SeqCst);

        // A second evaluation describes nothing.
        let second = describe(&set, &opts).unwrap();
        assert_eq!((second.computed, second.from_cache), (0, 3));
        assert_eq!(net.0.load(Ordering::SeqCst), shown);
        assert_eq!(second.people, first.people);
        assert_eq!(second.no_face, first.no_face);
    }
}
