//! Face descriptors cached per image, keyed by the SHA-256 of the image's
//! bytes, so a second `famsim eval` of the same folder (or of a folder that
//! shares images with it, or of the same images moved elsewhere) computes
//! nothing again. One file per face network (named by a hash of the
//! network's fingerprint, so other weights never read these descriptors):
//!
//! ```text
//! "famsim-descriptors v1\n", dimension (u32 LE),
//! then per image: key (32 bytes), found (1 byte: 0 no face, 1 face), dimension × f32 LE if found
//! ```
//!
//! Records are appended as they are computed. A run killed mid-record
//! leaves a partial last record, which the next open drops (the file is
//! truncated to its last whole record), so the cache never reads garbage.
//! Two evaluations writing the same cache at once are not supported; on a
//! cluster, process 0 alone writes it, and the other processes only read
//! what it held when they started ([`DescriptorCache::read_only`]).

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"famsim-descriptors v1\n";

/// An image's cache key.
pub type Key = [u8; 32];

pub fn key_of(bytes: &[u8]) -> Key {
    Sha256::digest(bytes).into()
}

/// Cached results: key → descriptor (None: no face found).
type Entries = HashMap<Key, Option<Vec<f32>>>;

/// The open cache of one network.
pub struct DescriptorCache {
    path: PathBuf,
    dimension: usize,
    entries: Entries,
    /// None when opened read-only.
    file: Option<std::fs::File>,
}

/// The cache file of the network with this fingerprint.
fn file_of(dir: &Path, fingerprint: &str) -> PathBuf {
    let name = hex::encode(&Sha256::digest(fingerprint.as_bytes())[..8]);
    dir.join(format!("descriptors-{name}.bin"))
}

/// The whole records of a cache file (none if it is missing or of another
/// layout), and the length they take.
fn read_entries(path: &Path, dimension: usize) -> Result<(Entries, u64)> {
    let mut entries = HashMap::new();
    let mut good = 0u64;
    if !path.exists() {
        return Ok((entries, good));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let header = MAGIC.len() + 4;
    let stored_dim = bytes
        .get(MAGIC.len()..header)
        .filter(|_| bytes.starts_with(MAGIC))
        .map(|d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize);
    if stored_dim == Some(dimension) {
        let mut at = header;
        good = header as u64;
        while let Some(head) = bytes.get(at..at + 33) {
            let key: Key = head[..32].try_into().expect("32 bytes");
            let value = match head[32] {
                0 => {
                    at += 33;
                    None
                }
                1 => {
                    let Some(body) = bytes.get(at + 33..at + 33 + 4 * dimension) else {
                        break;
                    };
                    at += 33 + 4 * dimension;
                    Some(
                        body.chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect(),
                    )
                }
                _ => break,
            };
            entries.insert(key, value);
            good = at as u64;
        }
    }
    Ok((entries, good))
}

impl DescriptorCache {
    /// Opens (or creates) the cache of the network with this fingerprint
    /// under `dir`.
    pub fn open(dir: &Path, fingerprint: &str, dimension: usize) -> Result<DescriptorCache> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = file_of(dir, fingerprint);
        let (entries, good) = read_entries(&path, dimension)?;
        let fresh = good == 0;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // Drop a partial last record (or a file of another layout).
        file.set_len(good).map_err(|e| Error::io(&path, e))?;
        let mut cache = DescriptorCache {
            path,
            dimension,
            entries,
            file: Some(file),
        };
        use std::io::Seek;
        let file = cache.file.as_mut().expect("opened above");
        file.seek(std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(&cache.path, e))?;
        if fresh {
            let mut header = MAGIC.to_vec();
            header.extend((dimension as u32).to_le_bytes());
            file.write_all(&header)
                .map_err(|e| Error::io(&cache.path, e))?;
        }
        Ok(cache)
    }

    /// What the cache under `dir` holds, for looking up only: a cluster's
    /// other processes read it (when they see the same folder) while
    /// process 0, its one writer, appends to it. No file is created, and a
    /// record still being written is left out.
    pub fn read_only(dir: &Path, fingerprint: &str, dimension: usize) -> Result<DescriptorCache> {
        let path = file_of(dir, fingerprint);
        let (entries, _) = read_entries(&path, dimension)?;
        Ok(DescriptorCache {
            path,
            dimension,
            entries,
            file: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cached result of an image: Some(None) is "no face found".
    pub fn get(&self, key: &Key) -> Option<&Option<Vec<f32>>> {
        self.entries.get(key)
    }

    /// Records results (appended to the file at once, in one write).
    pub fn insert_all(&mut self, results: Vec<(Key, Option<Vec<f32>>)>) -> Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(Error::internal(format!(
                "{}: a read-only descriptor cache was written to",
                self.path.display()
            )));
        };
        let mut buf = Vec::new();
        for (key, value) in results {
            buf.extend_from_slice(&key);
            match &value {
                None => buf.push(0),
                Some(d) => {
                    if d.len() != self.dimension {
                        return Err(Error::internal(format!(
                            "a descriptor of {} values for a cache of {}",
                            d.len(),
                            self.dimension
                        )));
                    }
                    buf.push(1);
                    for x in d {
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                }
            }
            self.entries.insert(key, value);
        }
        file.write_all(&buf).map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopening_and_a_torn_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (key_of(b"a"), key_of(b"b"), key_of(b"c"));
        {
            let mut cache = DescriptorCache::open(dir.path(), "net", 3).unwrap();
            assert!(cache.is_empty());
            cache
                .insert_all(vec![(a, Some(vec![1.0, 2.0, 3.0])), (b, None)])
                .unwrap();
            cache
                .insert_all(vec![(c, Some(vec![4.0, 5.0, 6.0]))])
                .unwrap();
        }
        let path = DescriptorCache::open(dir.path(), "net", 3)
            .unwrap()
            .path()
            .to_path_buf();
        // Tear the last record in half, as a killed run would.
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 5).unwrap();
        let cache = DescriptorCache::open(dir.path(), "net", 3).unwrap();
        assert_eq!(cache.get(&a), Some(&Some(vec![1.0, 2.0, 3.0])));
        assert_eq!(cache.get(&b), Some(&None));
        assert_eq!(cache.get(&c), None);
        assert_eq!(cache.len(), 2);
        // Another network has its own file.
        assert!(DescriptorCache::open(dir.path(), "other", 3)
            .unwrap()
            .is_empty());
    }
}
