//! dlib's shape predictor (Kazemi & Sullivan's ensemble of regression trees),
//! the model of `shape_predictor_68_face_landmarks.dat`: a cascade of forests,
//! each tree splitting on the difference of two pixel intensities sampled
//! relative to the current shape, each leaf adding an offset to the shape.
//!
//! Evaluation follows `dlib/image_processing/shape_predictor.h` step by step,
//! in the same float/double precision, so the points match dlib's to the
//! pixel: a similarity transform from the mean shape to the current shape
//! moves the sampling offsets, the box maps the unit square to pixels, and
//! points are rounded the way dlib converts to `point` (floor(x + 0.5)).

use super::reader::DlibReader;
use crate::error::{Error, Result};
use crate::image::Image;
use std::io::Read;
use std::path::Path;

/// A face box in pixels, dlib's `rectangle`: right and bottom are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaceBox {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

struct Split {
    idx1: usize,
    idx2: usize,
    thresh: f32,
}

struct Tree {
    /// A complete binary tree in breadth-first order: node i's children are 2i+1, 2i+2.
    splits: Vec<Split>,
    /// `splits.len() + 1` leaves, each `2 · parts` floats (x0, y0, x1, y1, …).
    leaves: Vec<f32>,
}

struct Cascade {
    trees: Vec<Tree>,
    /// Per feature pixel: the mean-shape point it hangs from and its offset.
    anchors: Vec<usize>,
    deltas: Vec<[f32; 2]>,
}

/// A loaded shape predictor.
pub struct ShapePredictor {
    /// The mean shape in box-normalised coordinates (the unit square is the box).
    initial: Vec<f32>,
    cascades: Vec<Cascade>,
}

// Generous bounds for a corrupt file's counts: the 68-point model has
// 15 cascades of 500 trees of depth 4 and 500 feature pixels per cascade.
const MAX_PARTS: u64 = 10_000;
const MAX_CASCADES: u64 = 1_000;
const MAX_TREES: u64 = 100_000;
const MAX_SPLITS: u64 = 1 << 16;
const MAX_FEATURES: u64 = 1 << 20;

impl ShapePredictor {
    /// Loads a `.dat` or `.dat.bz2` shape predictor.
    pub fn load(path: &Path) -> Result<Self> {
        let mut reader = DlibReader::open(path)?;
        let predictor = Self::read(&mut reader)?;
        reader.expect_end("the end of the shape predictor")?;
        Ok(predictor)
    }

    /// Reads dlib's `serialize(shape_predictor)`: version, initial shape,
    /// forests, anchor indices, deltas.
    pub fn read<R: Read>(r: &mut DlibReader<R>) -> Result<Self> {
        let version = r.i64("the shape predictor's version")?;
        if version != 1 {
            return Err(r.error(
                "the shape predictor's version",
                format!("version {version}; only version 1 is known (is this a shape predictor?)"),
            ));
        }
        let initial = r.matrix_f32("the initial shape")?;
        if initial.cols != 1 || initial.rows == 0 || initial.rows % 2 != 0 {
            return Err(r.error(
                "the initial shape",
                format!(
                    "{}×{} is not a column of x, y pairs",
                    initial.rows, initial.cols
                ),
            ));
        }
        if initial.rows as u64 > 2 * MAX_PARTS {
            return Err(r.error("the initial shape", "too many points"));
        }
        let dims = initial.rows;
        // Names of values are built only for an error message (format_args!
        // is lazy): the forests are 7,500 trees and 16 million floats.
        let forests = r.vec("the forests", MAX_CASCADES, |r, c| {
            r.vec(format_args!("cascade {c}"), MAX_TREES, |r, t| {
                let splits = r.vec(
                    format_args!("cascade {c} tree {t} splits"),
                    MAX_SPLITS,
                    |r, _| {
                        let feature = format_args!("cascade {c} tree {t} split feature");
                        Ok(Split {
                            idx1: r.index(feature, MAX_FEATURES)?,
                            idx2: r.index(feature, MAX_FEATURES)?,
                            thresh: r.f32(format_args!("cascade {c} tree {t} split threshold"))?,
                        })
                    },
                )?;
                let leaf_what = format_args!("cascade {c} tree {t} leaves");
                let mut leaves = Vec::with_capacity((splits.len() + 1) * dims);
                let count = r.vec(leaf_what, MAX_SPLITS + 1, |r, _| {
                    let (rows, cols) = r.matrix_f32_into(leaf_what, &mut leaves)?;
                    if rows != dims || cols != 1 {
                        return Err(r.error(
                            leaf_what,
                            format!("leaf of {rows}×{cols}, the shape has {dims} values"),
                        ));
                    }
                    Ok(())
                })?;
                if count.len() != splits.len() + 1 {
                    return Err(r.error(
                        format_args!("cascade {c} tree {t}"),
                        format!("{} leaves for {} splits", count.len(), splits.len()),
                    ));
                }
                Ok(Tree { splits, leaves })
            })
        })?;
        let parts = dims / 2;
        let anchors = r.vec("the anchor indices", MAX_CASCADES, |r, c| {
            r.vec(format_args!("cascade {c} anchors"), MAX_FEATURES, |r, _| {
                r.index(format_args!("cascade {c} anchor"), parts as u64 - 1)
            })
        })?;
        let deltas = r.vec("the pixel deltas", MAX_CASCADES, |r, c| {
            r.vec(format_args!("cascade {c} deltas"), MAX_FEATURES, |r, _| {
                let what = format_args!("cascade {c} delta");
                Ok([r.f32(what)?, r.f32(what)?])
            })
        })?;
        if anchors.len() != forests.len() || deltas.len() != forests.len() {
            return Err(r.error(
                "the pixel deltas",
                format!(
                    "{} forests but {} anchor lists and {} delta lists",
                    forests.len(),
                    anchors.len(),
                    deltas.len()
                ),
            ));
        }
        let mut cascades = Vec::with_capacity(forests.len());
        for (c, ((trees, anchors), deltas)) in
            forests.into_iter().zip(anchors).zip(deltas).enumerate()
        {
            let features = anchors.len();
            if deltas.len() != features {
                return Err(r.error(
                    "the pixel deltas",
                    format!(
                        "cascade {c}: {features} anchors but {} deltas",
                        deltas.len()
                    ),
                ));
            }
            if let Some(s) = trees
                .iter()
                .flat_map(|t| &t.splits)
                .find(|s| s.idx1 >= features || s.idx2 >= features)
            {
                return Err(r.error(
                    "the pixel deltas",
                    format!(
                        "cascade {c}: a split uses feature {} of {features}",
                        s.idx1.max(s.idx2)
                    ),
                ));
            }
            cascades.push(Cascade {
                trees,
                anchors,
                deltas,
            });
        }
        Ok(ShapePredictor {
            initial: initial.data,
            cascades,
        })
    }

    /// Number of points per shape (68 for the face model).
    pub fn parts(&self) -> usize {
        self.initial.len() / 2
    }

    /// Runs the cascade on `image` inside `face` and returns the points in
    /// pixels, unrounded; [`dlib_round`] gives what dlib's `parts()` reports.
    pub fn predict(&self, image: &Image, face: FaceBox) -> Result<Vec<[f64; 2]>> {
        if image.rgb.len() != image.width as usize * image.height as usize * 3 {
            return Err(Error::internal("image buffer does not match its size"));
        }
        let to_image = BoxTransform::new(face);
        let mut shape = self.initial.clone();
        let mut features = Vec::new();
        for cascade in &self.cascades {
            let m = similarity(&self.initial, &shape);
            features.clear();
            features.extend(cascade.anchors.iter().zip(&cascade.deltas).map(|(&a, d)| {
                // float arithmetic as dlib's matrix<float,2,2> · vector<float,2>.
                let x = (m[0][0] * d[0] + m[0][1] * d[1]) + shape[2 * a];
                let y = (m[1][0] * d[0] + m[1][1] * d[1]) + shape[2 * a + 1];
                let (px, py) = to_image.apply(x as f64, y as f64);
                let (px, py) = (round_like_dlib(px), round_like_dlib(py));
                if px >= 0 && py >= 0 && px < image.width as i64 && py < image.height as i64 {
                    intensity(image, px as usize, py as usize)
                } else {
                    0.0
                }
            }));
            for tree in &cascade.trees {
                let mut i = 0;
                while i < tree.splits.len() {
                    let s = &tree.splits[i];
                    i = if features[s.idx1] - features[s.idx2] > s.thresh {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    };
                }
                let leaf = i - tree.splits.len();
                let offsets = &tree.leaves[leaf * shape.len()..(leaf + 1) * shape.len()];
                for (v, o) in shape.iter_mut().zip(offsets) {
                    *v += o;
                }
            }
        }
        Ok(shape
            .chunks_exact(2)
            .map(|p| {
                let (x, y) = to_image.apply(p[0] as f64, p[1] as f64);
                [x, y]
            })
            .collect())
    }
}

/// dlib's conversion of a floating point to an integer `point`.
pub fn round_like_dlib(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// The points as dlib's `full_object_detection::parts()` reports them.
pub fn dlib_round(points: &[[f64; 2]]) -> Vec<[i64; 2]> {
    points
        .iter()
        .map(|p| [round_like_dlib(p[0]), round_like_dlib(p[1])])
        .collect()
}

/// dlib's `get_pixel_intensity` of an `rgb_pixel`: the truncated mean of the
/// three channels (its `assign_pixel` from RGB to grey).
fn intensity(image: &Image, x: usize, y: usize) -> f32 {
    let i = (y * image.width as usize + x) * 3;
    let p = &image.rgb[i..i + 3];
    ((p[0] as u32 + p[1] as u32 + p[2] as u32) / 3) as f32
}

/// dlib's `unnormalizing_tform(rect)`: (0,0) → top-left, (1,1) → bottom-right
/// corner (inclusive coordinates, so the scale is right − left, not the width).
struct BoxTransform {
    sx: f64,
    sy: f64,
    left: f64,
    top: f64,
}

impl BoxTransform {
    fn new(b: FaceBox) -> Self {
        BoxTransform {
            sx: (b.right - b.left) as f64,
            sy: (b.bottom - b.top) as f64,
            left: b.left as f64,
            top: b.top as f64,
        }
    }

    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (self.sx * x + self.left, self.sy * y + self.top)
    }
}

/// The linear part of the least-squares similarity transform taking `from`
/// to `to` (dlib's `find_similarity_transform`, Umeyama's method), as floats.
///
/// In 2-D Umeyama's SVD solution has a closed form: with the centred cross
/// covariance C, c·R = [[p, −q], [q, p]] / σ²_from where p = C00 + C11 and
/// q = C10 − C01 (the reflection guard makes R a rotation), computed in
/// double like dlib and cast to float like dlib's `matrix_cast<float>`.
fn similarity(from: &[f32], to: &[f32]) -> [[f32; 2]; 2] {
    let n = (from.len() / 2) as f64;
    let (mut mfx, mut mfy, mut mtx, mut mty) = (0.0, 0.0, 0.0, 0.0);
    for (f, t) in from.chunks_exact(2).zip(to.chunks_exact(2)) {
        mfx += f[0] as f64;
        mfy += f[1] as f64;
        mtx += t[0] as f64;
        mty += t[1] as f64;
    }
    let (mfx, mfy, mtx, mty) = (mfx / n, mfy / n, mtx / n, mty / n);
    let mut sigma_from = 0.0;
    let mut c = [[0.0f64; 2]; 2];
    for (f, t) in from.chunks_exact(2).zip(to.chunks_exact(2)) {
        let (fx, fy) = (f[0] as f64 - mfx, f[1] as f64 - mfy);
        let (tx, ty) = (t[0] as f64 - mtx, t[1] as f64 - mty);
        sigma_from += fx * fx + fy * fy;
        c[0][0] += tx * fx;
        c[0][1] += tx * fy;
        c[1][0] += ty * fx;
        c[1][1] += ty * fy;
    }
    sigma_from /= n;
    let p = (c[0][0] + c[1][1]) / n;
    let q = (c[1][0] - c[0][1]) / n;
    if sigma_from == 0.0 {
        // dlib keeps scale 1 then; R from a zero covariance is the identity.
        return [[1.0, 0.0], [0.0, 1.0]];
    }
    let (a, b) = (p / sigma_from, q / sigma_from);
    [[a as f32, -b as f32], [b as f32, a as f32]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_rotation_and_scale() {
        let from = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        // Rotate by 90° and scale by 2: (x, y) → (−2y, 2x) + (5, 3).
        let to: Vec<f32> = from
            .chunks(2)
            .flat_map(|p| [-2.0 * p[1] + 5.0, 2.0 * p[0] + 3.0])
            .collect();
        let m = similarity(&from, &to);
        let want = [[0.0, -2.0], [2.0, 0.0]];
        for r in 0..2 {
            for c in 0..2 {
                assert!((m[r][c] - want[r][c]).abs() < 1e-6, "{m:?}");
            }
        }
    }

    #[test]
    fn rounding_is_floor_of_x_plus_half() {
        assert_eq!(round_like_dlib(2.5), 3);
        assert_eq!(round_like_dlib(-2.5), -2);
        assert_eq!(round_like_dlib(-2.6), -3);
    }
}
