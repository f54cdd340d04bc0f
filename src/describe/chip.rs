//! dlib's face chip: the 150×150 crop the descriptor network reads, cut as
//! dlib's `get_face_chip_details(shape, 150, 0.25)` and
//! `extract_image_chips(img, details, chips)` cut it
//! (`dlib/image_transforms/interpolation.h`), so the pixels match dlib's.
//!
//! 1. A similarity transform (Umeyama's least squares, in double) takes five
//!    reference points of a mean face, padded by 25 % of the chip on each
//!    side, to the five landmarks; its angle and scale give the chip's
//!    rectangle in the photo.
//! 2. When that rectangle is much larger than the chip, bilinear sampling
//!    would skip pixels, so dlib first halves the photo (around the face)
//!    with its `pyramid_down<2>` (a 5-tap [1 4 6 4 1] filter in 16-bit
//!    integers, truncating) until one more halving would make it smaller
//!    than the chip.
//! 3. Each chip pixel maps through an affine transform into that level and
//!    is sampled bilinearly (in double, truncated to 8 bits); outside the
//!    image it is black.

use crate::error::{Error, Result};
use crate::image::Image;

/// dlib's reference positions of the 5-point model's landmarks (outer and
/// inner corner of one eye, then of the other, then the base of the nose),
/// in a unit square.
const FIVE_POINT_FACE: [[f64; 2]; 5] = [
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
];

/// dlib's `drectangle`: inclusive corners in doubles (width = right − left + 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DRect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl DRect {
    fn from_points(a: [f64; 2], b: [f64; 2]) -> DRect {
        DRect {
            left: a[0].min(b[0]),
            top: a[1].min(b[1]),
            right: a[0].max(b[0]),
            bottom: a[1].max(b[1]),
        }
    }

    fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }

    fn width(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.right - self.left + 1.0
        }
    }

    fn height(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.bottom - self.top + 1.0
        }
    }

    fn area(&self) -> f64 {
        self.width() * self.height()
    }

    fn center(&self) -> [f64; 2] {
        [
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        ]
    }

    fn corners(&self) -> [[f64; 2]; 4] {
        [
            [self.left, self.top],
            [self.right, self.top],
            [self.left, self.bottom],
            [self.right, self.bottom],
        ]
    }

    fn translate(&self, dx: f64, dy: f64) -> DRect {
        DRect {
            left: self.left + dx,
            top: self.top + dy,
            right: self.right + dx,
            bottom: self.bottom + dy,
        }
    }
}

/// Where a chip lies in the photo: dlib's `chip_details`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChipDetails {
    pub rect: DRect,
    /// Radians, the rotation of the chip's axes in the photo.
    pub angle: f64,
    pub rows: usize,
    pub cols: usize,
}

/// dlib's `get_face_chip_details` for a 5-point shape (points as dlib's
/// `full_object_detection` holds them, whole pixels).
pub fn face_chip_details(parts: &[[i64; 2]], size: usize, padding: f64) -> Result<ChipDetails> {
    if parts.len() != 5 {
        return Err(Error::internal(format!(
            "a face chip needs the 5-point model's landmarks, got {}",
            parts.len()
        )));
    }
    let from: Vec<[f64; 2]> = FIVE_POINT_FACE
        .iter()
        .map(|p| {
            [
                (padding + p[0]) / (2.0 * padding + 1.0) * size as f64,
                (padding + p[1]) / (2.0 * padding + 1.0) * size as f64,
            ]
        })
        .collect();
    let to: Vec<[f64; 2]> = parts.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let (m, t) = similarity_transform(&from, &to);
    // chip_details(chip_points, img_points, dims): scale and angle from the
    // image of (1, 0), the rectangle centred on the image of the chip centre.
    let (a, b) = (m[0][0], m[1][0]);
    let angle = b.atan2(a);
    let scale = (a * a + b * b).sqrt();
    let half = size as f64 / 2.0;
    let centre = [
        m[0][0] * half + m[0][1] * half + t[0],
        m[1][0] * half + m[1][1] * half + t[1],
    ];
    // centered_drect(p, w, h): dlib subtracts one from each side first.
    let (w, h) = (size as f64 * scale - 1.0, size as f64 * scale - 1.0);
    Ok(ChipDetails {
        rect: DRect {
            left: centre[0] - w / 2.0,
            top: centre[1] - h / 2.0,
            right: centre[0] + w / 2.0,
            bottom: centre[1] + h / 2.0,
        },
        angle,
        rows: size,
        cols: size,
    })
}

/// dlib's `find_similarity_transform` (Umeyama): the scaled rotation `m` and
/// translation `t` minimising Σ |m·from + t − to|². In 2-D the SVD has a
/// closed form: c·R = [[p, −q], [q, p]] / σ²_from with p = C00 + C11 and
/// q = C10 − C01 of the centred cross covariance C.
fn similarity_transform(from: &[[f64; 2]], to: &[[f64; 2]]) -> ([[f64; 2]; 2], [f64; 2]) {
    let n = from.len() as f64;
    let mean = |pts: &[[f64; 2]]| {
        let mut s = [0.0, 0.0];
        for p in pts {
            s[0] += p[0];
            s[1] += p[1];
        }
        [s[0] / n, s[1] / n]
    };
    let (mf, mt) = (mean(from), mean(to));
    let mut sigma = 0.0;
    let mut c = [[0.0f64; 2]; 2];
    for (f, t) in from.iter().zip(to) {
        let (fx, fy) = (f[0] - mf[0], f[1] - mf[1]);
        let (tx, ty) = (t[0] - mt[0], t[1] - mt[1]);
        sigma += fx * fx + fy * fy;
        c[0][0] += tx * fx;
        c[0][1] += tx * fy;
        c[1][0] += ty * fx;
        c[1][1] += ty * fy;
    }
    sigma /= n;
    let p = (c[0][0] + c[1][1]) / n;
    let q = (c[1][0] - c[0][1]) / n;
    let m = if sigma == 0.0 {
        [[1.0, 0.0], [0.0, 1.0]]
    } else {
        [[p / sigma, -q / sigma], [q / sigma, p / sigma]]
    };
    let t = [
        mt[0] - (m[0][0] * mf[0] + m[0][1] * mf[1]),
        mt[1] - (m[1][0] * mf[0] + m[1][1] * mf[1]),
    ];
    (m, t)
}

/// dlib's `rotate_point(center, p, angle)`.
fn rotate(center: [f64; 2], p: [f64; 2], angle: f64) -> [f64; 2] {
    let (sin, cos) = (angle.sin(), angle.cos());
    let (x, y) = (p[0] - center[0], p[1] - center[1]);
    [cos * x - sin * y + center[0], sin * x + cos * y + center[1]]
}

/// `pyramid_down<2>::rect_down`: each corner to p/2 − (1.25, 0.75).
fn rect_down(r: &DRect) -> DRect {
    let down = |p: [f64; 2]| [p[0] / 2.0 - 1.25, p[1] / 2.0 - 0.75];
    DRect::from_points(down([r.left, r.top]), down([r.right, r.bottom]))
}

/// dlib's `extract_image_chip` with bilinear interpolation.
pub fn extract_chip(image: &Image, chip: &ChipDetails) -> Result<Image> {
    let (width, height) = (image.width as usize, image.height as usize);
    if image.rgb.len() != width * height * 3 {
        return Err(Error::internal("image buffer does not match its size"));
    }
    let size = (chip.rows * chip.cols) as f64;
    if chip.rect.is_empty() || size == 0.0 {
        return Err(Error::internal("empty chip rectangle"));
    }
    if chip.angle == 0.0
        && chip.rows as f64 == chip.rect.height()
        && chip.cols as f64 == chip.rect.width()
    {
        return Ok(copy_chip(image, &chip.rect, chip.rows, chip.cols));
    }

    // The margin the pyramid needs around the chip: 2 pixels per level
    // below the first, doubling as they go up (dlib's own estimate).
    let mut grow = 2.0;
    let mut r = rect_down(&chip.rect);
    while r.area() > size {
        r = rect_down(&r);
        grow = grow * 2.0 + 2.0;
    }
    let centre = chip.rect.center();
    let rotated = chip.rect.corners().map(|p| rotate(centre, p, chip.angle));
    let mut rot = DRect::from_points(rotated[0], rotated[0]);
    for p in &rotated[1..] {
        rot.left = rot.left.min(p[0]);
        rot.top = rot.top.min(p[1]);
        rot.right = rot.right.max(p[0]);
        rot.bottom = rot.bottom.max(p[1]);
    }
    let grown = DRect {
        left: (rot.left - grow).max(0.0),
        top: (rot.top - grow).max(0.0),
        right: (rot.right + grow).min(width as f64 - 1.0),
        bottom: (rot.bottom + grow).min(height as f64 - 1.0),
    };
    // drectangle → rectangle rounds each side (std::lround: half away from zero).
    let bounds = [grown.left, grown.top, grown.right, grown.bottom].map(|v| v.round() as i64);
    let source = if bounds[0] > bounds[2] || bounds[1] > bounds[3] {
        // The face lies wholly outside the photo: every sample is black.
        Plane {
            width: 0,
            height: 0,
            rgb: vec![],
        }
    } else {
        crop(image, bounds)
    };

    let mut rect = chip.rect.translate(-bounds[0] as f64, -bounds[1] as f64);
    let mut level = -1i32;
    while rect_down(&rect).area() > size {
        level += 1;
        rect = rect_down(&rect);
    }
    let mut plane = source;
    for _ in 0..=level {
        plane = pyramid_down(&plane);
    }

    // The affine map from chip pixels to the level: three corners fix it.
    let c = rect.center();
    let tl = rotate(c, [rect.left, rect.top], chip.angle);
    let tr = rotate(c, [rect.right, rect.top], chip.angle);
    let bl = rotate(c, [rect.left, rect.bottom], chip.angle);
    let (cw, ch) = ((chip.cols - 1).max(1) as f64, (chip.rows - 1).max(1) as f64);
    let mx = [(tr[0] - tl[0]) / cw, (bl[0] - tl[0]) / ch];
    let my = [(tr[1] - tl[1]) / cw, (bl[1] - tl[1]) / ch];
    let mut rgb = Vec::with_capacity(chip.rows * chip.cols * 3);
    for row in 0..chip.rows {
        for col in 0..chip.cols {
            let (x, y) = (col as f64, row as f64);
            let px = mx[0] * x + mx[1] * y + tl[0];
            let py = my[0] * x + my[1] * y + tl[1];
            rgb.extend_from_slice(&plane.bilinear(px, py));
        }
    }
    Ok(Image {
        width: chip.cols as u32,
        height: chip.rows as u32,
        rgb,
    })
}

/// An RGB8 buffer (a crop or a pyramid level; may be empty).
struct Plane {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Plane {
    fn px(&self, x: usize, y: usize) -> [f64; 3] {
        let i = (y * self.width + x) * 3;
        [
            self.rgb[i] as f64,
            self.rgb[i + 1] as f64,
            self.rgb[i + 2] as f64,
        ]
    }

    /// dlib's `interpolate_bilinear` on an `rgb_pixel`: black when any of the
    /// four neighbours is outside, channels truncated to 8 bits.
    fn bilinear(&self, x: f64, y: f64) -> [u8; 3] {
        let (left, top) = (x.floor(), y.floor());
        if !(left >= 0.0
            && top >= 0.0
            && left + 1.0 < self.width as f64
            && top + 1.0 < self.height as f64)
        {
            return [0; 3];
        }
        let (l, t) = (left as usize, top as usize);
        let (lr, tb) = (x - left, y - top);
        let (a, b, c, d) = (
            self.px(l, t),
            self.px(l + 1, t),
            self.px(l, t + 1),
            self.px(l + 1, t + 1),
        );
        std::array::from_fn(|k| {
            let v =
                (1.0 - tb) * ((1.0 - lr) * a[k] + lr * b[k]) + tb * ((1.0 - lr) * c[k] + lr * d[k]);
            v as u8
        })
    }
}

/// The pixels inside the inclusive `[left, top, right, bottom]` (within the image).
fn crop(image: &Image, b: [i64; 4]) -> Plane {
    let (w, h) = ((b[2] - b[0] + 1) as usize, (b[3] - b[1] + 1) as usize);
    let stride = image.width as usize * 3;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let start = (b[1] as usize + y) * stride + b[0] as usize * 3;
        rgb.extend_from_slice(&image.rgb[start..start + w * 3]);
    }
    Plane {
        width: w,
        height: h,
        rgb,
    }
}

/// dlib's `basic_extract_image_chip`: an axis-aligned copy (black outside),
/// for a chip exactly the size of its unrotated rectangle.
fn copy_chip(image: &Image, rect: &DRect, rows: usize, cols: usize) -> Image {
    let (left, top) = (rect.left.round() as i64, rect.top.round() as i64);
    let plane = Plane {
        width: image.width as usize,
        height: image.height as usize,
        rgb: image.rgb.clone(),
    };
    let mut rgb = Vec::with_capacity(rows * cols * 3);
    for r in 0..rows as i64 {
        for c in 0..cols as i64 {
            let (x, y) = (left + c, top + r);
            if x >= 0 && y >= 0 && (x as usize) < plane.width && (y as usize) < plane.height {
                rgb.extend(plane.px(x as usize, y as usize).map(|v| v as u8));
            } else {
                rgb.extend([0, 0, 0]);
            }
        }
    }
    Image {
        width: cols as u32,
        height: rows as u32,
        rgb,
    }
}

/// dlib's `pyramid_down<2>` on RGB: a [1 4 6 4 1] filter along rows, then
/// columns, keeping every other sample, in 16-bit sums divided by 256 and
/// truncated. Images of 8 pixels or fewer on a side become empty.
fn pyramid_down(src: &Plane) -> Plane {
    if src.height <= 8 || src.width <= 8 {
        return Plane {
            width: 0,
            height: 0,
            rgb: vec![],
        };
    }
    let tw = (src.width - 3) / 2;
    let (dw, dh) = (tw, (src.height - 3) / 2);
    // Row filter: every source row, every other column from 0.
    let mut temp = vec![[0u16; 3]; src.height * tw];
    for r in 0..src.height {
        for c in 0..tw {
            let oc = 2 * c;
            let at = |k: usize| {
                let i = (r * src.width + oc + k) * 3;
                [
                    src.rgb[i] as u16,
                    src.rgb[i + 1] as u16,
                    src.rgb[i + 2] as u16,
                ]
            };
            let (p1, p2, p3, p4, p5) = (at(0), at(1), at(2), at(3), at(4));
            temp[r * tw + c] =
                std::array::from_fn(|k| p1[k] + p2[k] * 4 + p3[k] * 6 + p4[k] * 4 + p5[k]);
        }
    }
    // Column filter: rows 2, 4, … while r < height − 2.
    let mut rgb = Vec::with_capacity(dw * dh * 3);
    let mut r = 2;
    while r + 2 < src.height {
        for c in 0..tw {
            let t = |rr: usize| temp[rr * tw + c];
            let (a, b, m, d, e) = (t(r - 2), t(r - 1), t(r), t(r + 1), t(r + 2));
            for k in 0..3 {
                let sum = a[k] + b[k] * 4 + m[k] * 6 + d[k] * 4 + e[k];
                rgb.push((sum / 256) as u8);
            }
        }
        r += 2;
    }
    debug_assert_eq!(rgb.len(), dw * dh * 3);
    Plane {
        width: dw,
        height: dh,
        rgb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pyramid_halves_as_dlib_does() {
        // A flat image stays flat (16 · 16 · v / 256 = v) and shrinks to
        // ((n − 3) / 2) on each side.
        let src = Plane {
            width: 20,
            height: 11,
            rgb: vec![200; 20 * 11 * 3],
        };
        let down = pyramid_down(&src);
        assert_eq!((down.width, down.height), (8, 4));
        assert!(down.rgb.iter().all(|&v| v == 200));
    }

    #[test]
    fn bilinear_samples_between_pixels_and_is_black_outside() {
        let p = Plane {
            width: 2,
            height: 2,
            rgb: vec![0, 0, 0, 100, 100, 100, 100, 100, 100, 200, 200, 200],
        };
        assert_eq!(p.bilinear(0.5, 0.5), [100; 3]);
        assert_eq!(p.bilinear(0.25, 0.0), [25; 3]);
        assert_eq!(p.bilinear(1.0, 0.0), [0; 3], "right neighbour outside");
        assert_eq!(p.bilinear(-0.1, 0.0), [0; 3]);
    }

    #[test]
    fn similarity_recovers_rotation_scale_and_shift() {
        let from = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 3.0]];
        let to: Vec<[f64; 2]> = from
            .iter()
            .map(|p| [-2.0 * p[1] + 5.0, 2.0 * p[0] + 3.0])
            .collect();
        let (m, t) = similarity_transform(&from, &to);
        let want = [[0.0, -2.0], [2.0, 0.0]];
        for r in 0..2 {
            for c in 0..2 {
                assert!((m[r][c] - want[r][c]).abs() < 1e-12, "{m:?}");
            }
        }
        assert!((t[0] - 5.0).abs() < 1e-12 && (t[1] - 3.0).abs() < 1e-12);
    }
}
