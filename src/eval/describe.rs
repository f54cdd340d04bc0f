//! Face descriptors for every image of a folder: read in batches (only a
//! batch of images is in memory at once; what stays is one descriptor per
//! image), looked up in the cache by content hash, the rest described by the
//! face network, a progress bar counting images. An image without a
//! detectable face, or one that cannot be read as an image, is counted and
//! listed, never fatal. A person's descriptor is the mean of their images'.

use super::cache::{key_of, DescriptorCache, Key};
use super::EvalSet;
use crate::align::photo::Photo;
use crate::engine::cluster::{execute, ToLeader};
use crate::engine::{ClusterConfig, Progress};
use crate::error::{Error, Result};
use crate::image::Image;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use timely::worker::Worker;

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
pub struct DescribeOptions {
    pub describer: Arc<dyn Describer>,
    /// Where the cache lives.
    pub cache_dir: PathBuf,
    /// Images per batch.
    pub batch: usize,
    pub progress: bool,
    /// The timely workers and processes to spread the batches over (None:
    /// one worker thread here).
    pub cluster: Option<ClusterConfig>,
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

/// What became of one image, on its way from a worker to the leader.
#[derive(Clone, Serialize, Deserialize)]
struct Found {
    /// Index into the sorted list of the folder's images.
    image: u32,
    outcome: Outcome,
}

#[derive(Clone, Serialize, Deserialize)]
enum Outcome {
    /// The file could not be read or decoded (the reason).
    Unreadable(String),
    /// The cache knew it (None: no face).
    Cached(Option<Vec<f32>>),
    /// The network described it (None: no face), with its cache key.
    Described { key: Key, value: Option<Vec<f32>> },
}

/// Everything a worker needs; shared by the process's workers.
struct Job {
    paths: Vec<PathBuf>,
    describer: Arc<dyn Describer>,
    /// Process 0's cache, which its leader writes; a read-only copy on the
    /// other processes.
    cache: Mutex<DescriptorCache>,
    batch: usize,
    progress: Progress,
    abort: Arc<AtomicBool>,
    pool: rayon::ThreadPool,
}

/// Describes every image of `set`, spread over `opts.cluster`'s workers:
/// batch k of the sorted images goes to worker k mod workers, so a batch
/// holds the same images whatever the number of workers, and each worker
/// sends what it found to the leader (worker 0), which writes the cache and
/// counts the progress bar. Returns the descriptors on process 0 and None
/// on the others, whose part ends with their share.
pub fn describe(set: &EvalSet, opts: &DescribeOptions) -> Result<Option<Descriptors>> {
    let d = &opts.describer;
    let cluster = opts.cluster.clone().unwrap_or_else(ClusterConfig::single);
    let leads = cluster.process == 0;
    let cache = if leads {
        DescriptorCache::open(&opts.cache_dir, &d.fingerprint(), d.dimension())?
    } else {
        DescriptorCache::read_only(&opts.cache_dir, &d.fingerprint(), d.dimension())?
    };
    let mut paths: Vec<PathBuf> = set.images().cloned().collect();
    paths.sort();
    paths.dedup();
    let job = Arc::new(Job {
        progress: Progress::counting(paths.len() as u64, opts.progress && leads, "images"),
        paths,
        describer: Arc::clone(d),
        cache: Mutex::new(cache),
        batch: opts.batch.max(1),
        abort: Arc::new(AtomicBool::new(false)),
        // The workers share this process's threads (the caller's pool's
        // size: `--threads`).
        pool: rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .build()
            .map_err(|e| Error::internal(format!("thread pool: {e}")))?,
    });
    let outputs = execute(&cluster, Arc::clone(&job.abort), {
        let job = Arc::clone(&job);
        move |worker: &mut Worker| work(worker, &job)
    })?;
    job.progress.finish();
    let Some(table) = outputs.into_iter().flatten().next() else {
        return Ok(None);
    };
    Ok(Some(table.descriptors(set, &job.paths)))
}

/// One worker: its batches, described and sent to the leader; on the
/// leader, everyone's results gathered into the table.
fn work(worker: &mut Worker, job: &Job) -> Result<Option<Table>> {
    let (me, peers) = (worker.index(), worker.peers());
    let mut to_leader = ToLeader::<Found>::new(worker);
    let mut table = (me == 0).then(|| Table::new(job.paths.len()));
    let batches = job.paths.chunks(job.batch).enumerate();
    for (b, chunk) in batches.filter(|(b, _)| b % peers == me) {
        let found = job
            .pool
            .install(|| describe_batch(job, b * job.batch, chunk))?;
        match &mut table {
            // The leader's own results go straight in: its next batch
            // finds them in the cache.
            Some(table) => table.record(found, job)?,
            None => to_leader.send(found),
        }
        let arrived = to_leader.poll(worker, &job.abort)?;
        if let Some(table) = &mut table {
            table.record(arrived, job)?;
        }
    }
    to_leader.finish(worker, &job.abort, |arrived| match &mut table {
        Some(table) => table.record(arrived, job),
        None => Ok(()),
    })?;
    Ok(table)
}

/// The images `chunk` (the first one is image `first`): read and hashed,
/// looked up in the cache, the rest decoded and described.
fn describe_batch(job: &Job, first: usize, chunk: &[PathBuf]) -> Result<Vec<Found>> {
    let found = |i: usize, outcome| Found {
        image: (first + i) as u32,
        outcome,
    };
    // Read and hash in parallel; decode only what the cache lacks.
    let read: Vec<std::result::Result<(Key, Vec<u8>), String>> = chunk
        .par_iter()
        .map(|p| {
            std::fs::read(p)
                .map(|bytes| (key_of(&bytes), bytes))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect();
    let mut out = Vec::new();
    let mut missing: Vec<(usize, Key, Vec<u8>)> = Vec::new();
    {
        let cache = job.cache.lock().unwrap_or_else(|e| e.into_inner());
        for (i, r) in read.into_iter().enumerate() {
            match r {
                Err(e) => out.push(found(i, Outcome::Unreadable(e))),
                Ok((key, bytes)) => match cache.get(&key) {
                    Some(hit) => out.push(found(i, Outcome::Cached(hit.clone()))),
                    None => missing.push((i, key, bytes)),
                },
            }
        }
    }
    let decoded: Vec<(usize, Key, std::result::Result<Image, String>)> = missing
        .into_par_iter()
        .map(|(i, key, bytes)| {
            // Through the photo pipeline's own reader, so a phone photo
            // stored sideways is described upright (its EXIF orientation).
            let image = Photo::decode(&chunk[i], &bytes)
                .map(Photo::upright)
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
            Err(e) => out.push(found(i, Outcome::Unreadable(e))),
        }
    }
    if !images.is_empty() {
        let described = job.describer.describe_batch(&images)?;
        for ((i, key), value) in owners.into_iter().zip(described) {
            out.push(found(i, Outcome::Described { key, value }));
        }
    }
    Ok(out)
}

/// The leader's record of every image.
struct Table {
    /// Per image: None until heard of; then its descriptor (None: no face).
    results: Vec<Option<Option<Vec<f32>>>>,
    unreadable: Vec<(usize, String)>,
    from_cache: usize,
    computed: usize,
}

impl Table {
    fn new(images: usize) -> Table {
        Table {
            results: vec![None; images],
            unreadable: Vec::new(),
            from_cache: 0,
            computed: 0,
        }
    }

    /// Takes in results, writes what the cache lacks, moves the progress bar.
    fn record(&mut self, found: Vec<Found>, job: &Job) -> Result<()> {
        if found.is_empty() {
            return Ok(());
        }
        job.progress.inc(found.len() as u64);
        let mut fresh = Vec::new();
        let mut cache = job.cache.lock().unwrap_or_else(|e| e.into_inner());
        for Found { image, outcome } in found {
            let image = image as usize;
            let value = match outcome {
                Outcome::Unreadable(e) => {
                    self.unreadable.push((image, e));
                    None
                }
                Outcome::Cached(value) => {
                    self.from_cache += 1;
                    value
                }
                Outcome::Described { key, value } => {
                    self.computed += 1;
                    // Two workers may describe the same bytes (copies of an
                    // image): one record is enough.
                    if cache.get(&key).is_none() && !fresh.iter().any(|(k, _)| k == &key) {
                        fresh.push((key, value.clone()));
                    }
                    value
                }
            };
            self.results[image] = Some(value);
        }
        cache.insert_all(fresh)
    }

    /// The per-person descriptors and the lists of the report.
    fn descriptors(self, set: &EvalSet, paths: &[PathBuf]) -> Descriptors {
        let shown = |p: &Path| p.strip_prefix(&set.root).unwrap_or(p).display().to_string();
        let unreadable_images: HashSet<usize> = self.unreadable.iter().map(|u| u.0).collect();
        let mut no_face: Vec<String> = paths
            .iter()
            .zip(&self.results)
            .enumerate()
            .filter(|(i, (_, r))| matches!(r, Some(None)) && !unreadable_images.contains(i))
            .map(|(_, (p, _))| shown(p))
            .collect();
        no_face.sort();
        let mut unreadable: Vec<String> = self
            .unreadable
            .into_iter()
            .map(|(i, e)| {
                // Errors name the path as given; the report names it within the folder.
                let full = paths[i].display().to_string();
                e.replacen(&full, &shown(&paths[i]), 1)
            })
            .collect();
        unreadable.sort();
        let index: HashMap<&Path, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_path(), i))
            .collect();
        let people = set
            .people
            .iter()
            .map(|person| {
                let found: Vec<&Vec<f32>> = person
                    .images
                    .iter()
                    .filter_map(|p| self.results[index[p.as_path()]].as_ref()?.as_ref())
                    .collect();
                mean(&found)
            })
            .collect();
        Descriptors {
            people,
            images: paths.len(),
            from_cache: self.from_cache,
            computed: self.computed,
            no_face,
            unreadable,
        }
    }
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
        let net = Arc::new(MeanColour(AtomicUsize::new(0)));
        let mut opts = DescribeOptions {
            describer: net.clone(),
            cache_dir: dir.path().join("cache"),
            batch: 2,
            progress: false,
            cluster: None,
        };
        let first = describe(&set, &opts).unwrap().unwrap();
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
        let second = describe(&set, &opts).unwrap().unwrap();
        assert_eq!((second.computed, second.from_cache), (0, 3));
        assert_eq!(net.0.load(Ordering::SeqCst), shown);
        assert_eq!(second.people, first.people);
        assert_eq!(second.no_face, first.no_face);

        // Three workers with a batch each, from an empty cache: the same
        // findings, every image described once (the copies by two workers).
        opts.cache_dir = dir.path().join("cache3");
        opts.batch = 1;
        opts.cluster =
            Some(ClusterConfig::new(3, 1, 0, Vec::new(), ClusterConfig::no_model()).unwrap());
        let third = describe(&set, &opts).unwrap().unwrap();
        // The copy is described again, or found in the cache when the
        // leader recorded its twin first.
        assert_eq!(third.computed + third.from_cache, 3);
        assert_eq!(net.0.load(Ordering::SeqCst), shown + third.computed);
        assert_eq!(third.people, first.people);
        assert_eq!(third.no_face, first.no_face);
        assert_eq!(third.unreadable, first.unreadable);
    }
}
