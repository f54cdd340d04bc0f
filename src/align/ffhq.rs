//! FFHQ face alignment, the `image_align` function that FFHQ, e4e and the
//! StyleGene demo all use: an oriented square from the eye centres and mouth
//! corners, optional shrink, crop, reflect-pad with blur, a quad warp to
//! `transform_size` and an antialiased resize to `output_size`.
//!
//! Each step reproduces what the official NumPy/SciPy/Pillow calls compute,
//! because the encoder was trained on crops made that way: Pillow's Lanczos
//! resize with its fixed-point coefficients and 8-bit intermediate, its
//! bilinear QUAD transform (pixel centres, truncation, black outside),
//! NumPy's `reflect` padding and `rint`, SciPy's Gaussian filter
//! (`truncate = 4`, mirror boundary, float32 between passes) and the median.

use crate::error::{Error, Result};
use crate::image::Image;

/// The oriented square and the aligned crop.
pub struct Aligned {
    /// Corners in photo pixels, in the official order: top-left, bottom-left,
    /// bottom-right, top-right of the aligned face.
    pub quad: [[f64; 2]; 4],
    /// The square's side in photo pixels.
    pub qsize: f64,
    pub image: Image,
}

/// The official quad from 68 landmarks (points 36–41 and 42–47 are the eyes,
/// 48 and 54 the mouth corners).
pub fn ffhq_quad(landmarks: &[[f64; 2]]) -> Result<([[f64; 2]; 4], f64)> {
    if landmarks.len() != 68 {
        return Err(Error::input(format!(
            "FFHQ alignment needs the 68 dlib landmarks, got {}",
            landmarks.len()
        )));
    }
    let mean = |r: std::ops::Range<usize>| {
        let n = r.len() as f64;
        let s = landmarks[r]
            .iter()
            .fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
        [s[0] / n, s[1] / n]
    };
    let eye_left = mean(36..42);
    let eye_right = mean(42..48);
    let eye_avg = [
        (eye_left[0] + eye_right[0]) * 0.5,
        (eye_left[1] + eye_right[1]) * 0.5,
    ];
    let eye_to_eye = [eye_right[0] - eye_left[0], eye_right[1] - eye_left[1]];
    let (ml, mr) = (landmarks[48], landmarks[54]);
    let mouth_avg = [(ml[0] + mr[0]) * 0.5, (ml[1] + mr[1]) * 0.5];
    let eye_to_mouth = [mouth_avg[0] - eye_avg[0], mouth_avg[1] - eye_avg[1]];
    // x = eye_to_eye − flipud(eye_to_mouth)·[−1, 1]
    let mut x = [
        eye_to_eye[0] + eye_to_mouth[1],
        eye_to_eye[1] - eye_to_mouth[0],
    ];
    let norm = x[0].hypot(x[1]);
    if norm.is_nan() || norm <= 0.0 {
        return Err(Error::input(
            "the landmarks are degenerate (eyes and mouth coincide)",
        ));
    }
    x = [x[0] / norm, x[1] / norm];
    let scale = f64::max(
        eye_to_eye[0].hypot(eye_to_eye[1]) * 2.0,
        eye_to_mouth[0].hypot(eye_to_mouth[1]) * 1.8,
    );
    x = [x[0] * scale, x[1] * scale];
    let y = [-x[1], x[0]];
    let c = [
        eye_avg[0] + eye_to_mouth[0] * 0.1,
        eye_avg[1] + eye_to_mouth[1] * 0.1,
    ];
    let quad = [
        [c[0] - x[0] - y[0], c[1] - x[1] - y[1]],
        [c[0] - x[0] + y[0], c[1] - x[1] + y[1]],
        [c[0] + x[0] + y[0], c[1] + x[1] + y[1]],
        [c[0] + x[0] - y[0], c[1] + x[1] - y[1]],
    ];
    Ok((quad, x[0].hypot(x[1]) * 2.0))
}

/// What [`align`] reads the photo through: an upright [`Image`], or a
/// [`crate::align::photo::Photo`] shown through its EXIF orientation, read a
/// row or a region at a time so that a huge photo is never copied whole.
pub trait Source {
    /// Width and height, upright.
    fn size(&self) -> (u32, u32);
    /// Row `y` into `out` (`width × 3` bytes).
    fn row(&self, y: u32, out: &mut [u8]);
    /// The pixels in `[left, top, right, bottom)` (inside the image).
    fn crop(&self, rect: [i64; 4]) -> Image;
}

impl Source for Image {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    fn row(&self, y: u32, out: &mut [u8]) {
        let w = self.width as usize * 3;
        out.copy_from_slice(&self.rgb[y as usize * w..(y as usize + 1) * w]);
    }
    fn crop(&self, rect: [i64; 4]) -> Image {
        crop_image(self, rect)
    }
}

/// `image_align(photo, landmarks, output_size, transform_size)` with padding on.
///
/// Only what the official code keeps is copied out of `photo`: the shrunk
/// photo when the face is large (shrunk row by row), otherwise the crop.
pub fn align<S: Source + ?Sized>(
    photo: &S,
    landmarks: &[[f64; 2]],
    output_size: u32,
    transform_size: u32,
) -> Result<Aligned> {
    let (quad0, qsize0) = ffhq_quad(landmarks)?;
    let (mut quad, mut qsize) = (quad0, qsize0);
    let (pw, ph) = photo.size();

    // Shrink.
    let shrink = (qsize / output_size as f64 * 0.5).floor() as i64;
    let mut shrunk = None;
    if shrink > 1 {
        let s = shrink as f64;
        let w = (pw as f64 / s).round_ties_even() as u32;
        let h = (ph as f64 / s).round_ties_even() as u32;
        shrunk = Some(resize_source(photo, w.max(1), h.max(1)));
        for q in &mut quad {
            q[0] /= s;
            q[1] /= s;
        }
        qsize /= s;
    }

    // Crop.
    let border = ((qsize * 0.1).round_ties_even() as i64).max(3);
    let bounds = |quad: &[[f64; 2]; 4]| {
        let fold =
            |f: fn(f64, f64) -> f64, i: usize, init: f64| quad.iter().fold(init, |a, q| f(a, q[i]));
        [
            fold(f64::min, 0, f64::INFINITY).floor() as i64,
            fold(f64::min, 1, f64::INFINITY).floor() as i64,
            fold(f64::max, 0, f64::NEG_INFINITY).ceil() as i64,
            fold(f64::max, 1, f64::NEG_INFINITY).ceil() as i64,
        ]
    };
    let b = bounds(&quad);
    let (w, h) = match &shrunk {
        Some(img) => (img.width as i64, img.height as i64),
        None => (pw as i64, ph as i64),
    };
    let crop = [
        (b[0] - border).max(0),
        (b[1] - border).max(0),
        (b[2] + border).min(w),
        (b[3] + border).min(h),
    ];
    let whole = [0, 0, w, h];
    let mut img = if crop[2] - crop[0] < w || crop[3] - crop[1] < h {
        if crop[2] <= crop[0] || crop[3] <= crop[1] {
            return Err(Error::input("the face lies outside the photo"));
        }
        for q in &mut quad {
            q[0] -= crop[0] as f64;
            q[1] -= crop[1] as f64;
        }
        match &shrunk {
            Some(img) => crop_image(img, crop),
            None => photo.crop(crop),
        }
    } else {
        match shrunk {
            Some(img) => img,
            None => photo.crop(whole),
        }
    };

    // Pad.
    let b = bounds(&quad);
    let (w, h) = (img.width as i64, img.height as i64);
    let pad = [
        (-b[0] + border).max(0),
        (-b[1] + border).max(0),
        (b[2] - w + border).max(0),
        (b[3] - h + border).max(0),
    ];
    if *pad.iter().max().unwrap() > border - 4 {
        let least = (qsize * 0.3).round_ties_even() as i64;
        let pad = pad.map(|p| p.max(least) as usize);
        img = pad_blur(&img, pad, qsize);
        for q in &mut quad {
            q[0] += pad[0] as f64;
            q[1] += pad[1] as f64;
        }
    }

    // Transform.
    let mut data = [0.0; 8];
    for (i, q) in quad.iter().enumerate() {
        data[2 * i] = q[0] + 0.5;
        data[2 * i + 1] = q[1] + 0.5;
    }
    let mut out = quad_transform(&img, &data, transform_size);
    if output_size < transform_size {
        out = resize_lanczos(&out, output_size, output_size);
    }
    Ok(Aligned {
        quad: quad0,
        qsize: qsize0,
        image: out,
    })
}

fn crop_image(img: &Image, c: [i64; 4]) -> Image {
    let (w, h) = ((c[2] - c[0]) as usize, (c[3] - c[1]) as usize);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in c[1] as usize..c[3] as usize {
        let row = (y * img.width as usize + c[0] as usize) * 3;
        rgb.extend_from_slice(&img.rgb[row..row + w * 3]);
    }
    Image {
        width: w as u32,
        height: h as u32,
        rgb,
    }
}

/// NumPy's `reflect` index (mirror without repeating the edge), for any distance.
fn reflect(i: i64, n: i64) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - m }) as usize
}

/// SciPy's `mirror`-free `reflect` mode (d c b a | a b c d), for any distance.
fn symmetric(i: i64, n: i64) -> usize {
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

/// The official padding: reflect-pad, blend toward a Gaussian blur and then
/// toward the median colour as the distance mask grows, round to 8 bits.
fn pad_blur(img: &Image, pad: [usize; 4], qsize: f64) -> Image {
    let (iw, ih) = (img.width as i64, img.height as i64);
    let w = img.width as usize + pad[0] + pad[2];
    let h = img.height as usize + pad[1] + pad[3];
    let mut f = vec![0f32; w * h * 3];
    for y in 0..h {
        let sy = reflect(y as i64 - pad[1] as i64, ih);
        for x in 0..w {
            let sx = reflect(x as i64 - pad[0] as i64, iw);
            let s = (sy * iw as usize + sx) * 3;
            let d = (y * w + x) * 3;
            for c in 0..3 {
                f[d + c] = img.rgb[s + c] as f32;
            }
        }
    }
    let mask: Vec<f64> = (0..h * w)
        .map(|i| {
            let (y, x) = ((i / w) as f64, (i % w) as f64);
            let mx = 1.0 - f64::min(x / pad[0] as f64, (w as f64 - 1.0 - x) / pad[2] as f64);
            let my = 1.0 - f64::min(y / pad[1] as f64, (h as f64 - 1.0 - y) / pad[3] as f64);
            // float32 arithmetic in the official code; the mask only weights a blend.
            (mx.max(my) as f32) as f64
        })
        .collect();
    let blurred = gaussian_blur(&f, w, h, qsize * 0.02);
    for i in 0..h * w {
        let k = (mask[i] * 3.0 + 1.0).clamp(0.0, 1.0) as f32;
        for c in 0..3 {
            let v = f[i * 3 + c];
            f[i * 3 + c] = v + (blurred[i * 3 + c] - v) * k;
        }
    }
    let median: Vec<f32> = (0..3)
        .map(|c| {
            let mut v: Vec<f32> = f.iter().skip(c).step_by(3).copied().collect();
            let n = v.len();
            let mid = n / 2;
            let (_, hi, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
            let hi = *hi;
            if n % 2 == 1 {
                hi
            } else {
                let lo = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
                ((lo as f64 + hi as f64) / 2.0) as f32
            }
        })
        .collect();
    for i in 0..h * w {
        let k = mask[i].clamp(0.0, 1.0) as f32;
        for c in 0..3 {
            let v = f[i * 3 + c];
            f[i * 3 + c] = v + (median[c] - v) * k;
        }
    }
    Image {
        width: w as u32,
        height: h as u32,
        rgb: f
            .iter()
            .map(|&v| v.round_ties_even().clamp(0.0, 255.0) as u8)
            .collect(),
    }
}

/// `scipy.ndimage.gaussian_filter(img, [s, s, 0])`: rows then columns, each
/// pass accumulated in double and stored as float32.
fn gaussian_blur(f: &[f32], w: usize, h: usize, sigma: f64) -> Vec<f32> {
    if sigma <= 0.0 {
        return f.to_vec();
    }
    let radius = (4.0 * sigma + 0.5) as i64;
    let mut weights: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|k| *k /= sum);
    // Axis 0 (along y) first, as SciPy filters axes in order.
    let tmp = blur_along(f, w, h, &weights, radius, true);
    blur_along(&tmp, w, h, &weights, radius, false)
}

/// One pass of [`gaussian_blur`] along y (`along_y`) or x, with SciPy's
/// symmetric edges; sums in f64 and stores f32, like the official code.
fn blur_along(
    src: &[f32],
    w: usize,
    h: usize,
    weights: &[f64],
    radius: i64,
    along_y: bool,
) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut acc = 0.0f64;
                for (j, k) in weights.iter().enumerate() {
                    let offset = j as i64 - radius;
                    let (sx, sy) = if along_y {
                        (x, symmetric(y as i64 + offset, h as i64))
                    } else {
                        (symmetric(x as i64 + offset, w as i64), y)
                    };
                    acc += src[(sy * w + sx) * 3 + c] as f64 * k;
                }
                out[(y * w + x) * 3 + c] = acc as f32;
            }
        }
    }
    out
}

/// Pillow's `transform(size, QUAD, data, BILINEAR)`: each output pixel centre
/// maps bilinearly into the quad (NW, SW, SE, NE corners in `data`), samples
/// bilinearly with edge clamping, truncates, and is black outside the source.
fn quad_transform(img: &Image, data: &[f64; 8], size: u32) -> Image {
    let (nw, sw, se, ne) = (
        [data[0], data[1]],
        [data[2], data[3]],
        [data[4], data[5]],
        [data[6], data[7]],
    );
    let (a_s, a_t) = (1.0 / size as f64, 1.0 / size as f64);
    let a = [
        nw[0],
        (ne[0] - nw[0]) * a_s,
        (sw[0] - nw[0]) * a_t,
        (se[0] - sw[0] - ne[0] + nw[0]) * a_s * a_t,
        nw[1],
        (ne[1] - nw[1]) * a_s,
        (sw[1] - nw[1]) * a_t,
        (se[1] - sw[1] - ne[1] + nw[1]) * a_s * a_t,
    ];
    let (iw, ih) = (img.width as i64, img.height as i64);
    let n = size as usize;
    let mut rgb = vec![0u8; n * n * 3];
    for y in 0..n {
        for x in 0..n {
            let (xi, yi) = (x as f64 + 0.5, y as f64 + 0.5);
            let sx = a[0] + a[1] * xi + a[2] * yi + a[3] * xi * yi;
            let sy = a[4] + a[5] * xi + a[6] * yi + a[7] * xi * yi;
            if !((0.0..iw as f64).contains(&sx) && (0.0..ih as f64).contains(&sy)) {
                continue;
            }
            let (sx, sy) = (sx - 0.5, sy - 0.5);
            let (fx, fy) = (sx.floor(), sy.floor());
            let (dx, dy) = (sx - fx, sy - fy);
            let (px, py) = (fx as i64, fy as i64);
            let x0 = px.clamp(0, iw - 1) as usize;
            let x1 = (px + 1).clamp(0, iw - 1) as usize;
            let row0 = py.clamp(0, ih - 1) as usize;
            let row1 = (py + 1 < ih && py + 1 >= 0).then_some((py + 1) as usize);
            let at = |r: usize, c: usize, b: usize| img.rgb[(r * iw as usize + c) * 3 + b] as f64;
            for b in 0..3 {
                let v1 = at(row0, x0, b) + (at(row0, x1, b) - at(row0, x0, b)) * dx;
                let v2 = match row1 {
                    Some(r) => at(r, x0, b) + (at(r, x1, b) - at(r, x0, b)) * dx,
                    None => v1,
                };
                rgb[(y * n + x) * 3 + b] = (v1 + (v2 - v1) * dy) as u8;
            }
        }
    }
    Image {
        width: size,
        height: size,
        rgb,
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn lanczos(x: f64) -> f64 {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            x.sin() / x
        }
    }
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// Pillow's resampling coefficients for one axis: per output index the first
/// input index and the fixed-point weights.
fn coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<i64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 3.0 * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let mut k: Vec<f64> = (xmin..xmax)
                .map(|x| lanczos((x as f64 - center + 0.5) * ss))
                .collect();
            let ww: f64 = k.iter().sum();
            if ww != 0.0 {
                k.iter_mut().for_each(|v| *v /= ww);
            }
            let one = (1u64 << PRECISION_BITS) as f64;
            let fixed = k
                .iter()
                .map(|&v| {
                    if v < 0.0 {
                        (-0.5 + v * one) as i64
                    } else {
                        (0.5 + v * one) as i64
                    }
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

fn clip8(v: i64) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `resize(size, LANCZOS)` of an 8-bit RGB image: horizontal pass,
/// 8-bit intermediate, vertical pass.
pub fn resize_lanczos(img: &Image, width: u32, height: u32) -> Image {
    resize_source(img, width, height)
}

/// [`resize_lanczos`] reading the source a row at a time: besides the output,
/// only the horizontal pass's `height × out_width` intermediate is held.
fn resize_source<S: Source + ?Sized>(img: &S, width: u32, height: u32) -> Image {
    let (iw, ih) = img.size();
    let (iw, ih) = (iw as usize, ih as usize);
    let (ow, oh) = (width as usize, height as usize);
    let half = 1i64 << (PRECISION_BITS - 1);
    let mut row = vec![0u8; iw * 3];
    let horizontal = if ow != iw {
        let coeffs = coefficients(iw, ow);
        let mut out = vec![0u8; ow * ih * 3];
        for y in 0..ih {
            img.row(y as u32, &mut row);
            for (x, (xmin, k)) in coeffs.iter().enumerate() {
                for c in 0..3 {
                    let mut ss = half;
                    for (j, kj) in k.iter().enumerate() {
                        ss += row[(xmin + j) * 3 + c] as i64 * kj;
                    }
                    out[(y * ow + x) * 3 + c] = clip8(ss);
                }
            }
        }
        out
    } else {
        img.crop([0, 0, iw as i64, ih as i64]).rgb
    };
    let rgb = if oh != ih {
        let coeffs = coefficients(ih, oh);
        let mut out = vec![0u8; ow * oh * 3];
        for (y, (ymin, k)) in coeffs.iter().enumerate() {
            for x in 0..ow {
                for c in 0..3 {
                    let mut ss = half;
                    for (j, kj) in k.iter().enumerate() {
                        ss += horizontal[((ymin + j) * ow + x) * 3 + c] as i64 * kj;
                    }
                    out[(y * ow + x) * 3 + c] = clip8(ss);
                }
            }
        }
        out
    } else {
        horizontal
    };
    Image { width, height, rgb }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_modes_match_numpy_and_scipy() {
        // np.pad(np.arange(4), 5, 'reflect') → 1 2 3 2 1 | 0 1 2 3 | 2 1 0 1 2
        let got: Vec<usize> = (-5..9).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        // scipy 'reflect' = np.pad 'symmetric': 1 0 | 0 1 2 3 | 3 2
        let got: Vec<usize> = (-2..6).map(|i| symmetric(i, 4)).collect();
        assert_eq!(got, [1, 0, 0, 1, 2, 3, 3, 2]);
    }

    #[test]
    fn resizing_a_flat_image_keeps_it_flat() {
        let img = Image {
            width: 40,
            height: 30,
            rgb: [10u8, 128, 250].repeat(40 * 30),
        };
        let out = resize_lanczos(&img, 13, 7);
        assert!(
            out.rgb.chunks(3).all(|p| p == [10, 128, 250]),
            "{:?}",
            &out.rgb[..9]
        );
    }
}
