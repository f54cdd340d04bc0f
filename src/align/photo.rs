//! Reading a photo the way a viewer shows it: JPEG EXIF orientation applied,
//! and photos of any size within [`MAX_PIXELS`] in bounded memory.
//!
//! A [`Photo`] keeps the decoded pixels as stored (3 bytes a pixel, the one
//! full-size buffer) and its orientation; everything the pipeline needs is
//! read through it in displayed coordinates: a downscaled copy to detect on
//! ([`Photo::downscaled`]), the region around a face for the landmarks
//! ([`Photo::crop`]), and rows for the FFHQ crop's shrink
//! ([`crate::align::ffhq::Source`]). So no second full-size copy is made,
//! not even to turn a sideways phone photo upright.

use crate::align::ffhq::Source;
use crate::error::{Error, Result};
use crate::image::Image;
use std::path::Path;

/// The most pixels a photo may have (a 12000 × 9000 photo is 108 million):
/// decoded, such a photo takes 3 bytes a pixel.
pub const MAX_PIXELS: u64 = 150_000_000;

/// A decoded photo as stored, shown through its EXIF orientation.
pub struct Photo {
    stored: Image,
    orientation: u32,
    /// Displayed (upright) width and height.
    pub width: u32,
    pub height: u32,
}

impl Photo {
    /// Reads a PNG or JPEG, checking its size from the header before decoding.
    pub fn open(path: &Path) -> Result<Photo> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Photo::decode(path, &bytes)
    }

    /// Decodes the bytes of a PNG or JPEG read from `path` (named in
    /// errors), as [`Photo::open`] does; for callers that hold the bytes
    /// already (`famsim eval` hashes them for its cache first).
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Photo> {
        if bytes.is_empty() {
            return Err(Error::input(format!(
                "{}: empty file (0 bytes), not an image",
                path.display()
            )));
        }
        let (w, h) = crate::io::photo::photo_size(path, bytes)?;
        if w == 0 || h == 0 || w as u64 * h as u64 > MAX_PIXELS {
            return Err(Error::input(format!(
                "{}: {w} × {h} pixels; famsim reads photos of up to {} million pixels \
                 (a face needs far fewer: scale the photo down)",
                path.display(),
                MAX_PIXELS / 1_000_000
            )));
        }
        let orientation = exif_orientation(bytes);
        let stored = crate::io::photo::decode_photo(path, bytes, true)?;
        Ok(Photo::new(stored, orientation))
    }

    /// A decoded image shown through EXIF orientation `orientation` (1–8).
    pub fn new(stored: Image, orientation: u32) -> Photo {
        let orientation = if (1..=8).contains(&orientation) {
            orientation
        } else {
            1
        };
        let (width, height) = if orientation >= 5 {
            (stored.height, stored.width)
        } else {
            (stored.width, stored.height)
        };
        Photo {
            stored,
            orientation,
            width,
            height,
        }
    }

    /// The upright image (the stored one itself when it needs no turning).
    pub fn upright(self) -> Image {
        if self.orientation == 1 {
            return self.stored;
        }
        self.crop([0, 0, self.width as i64, self.height as i64])
    }

    /// The upright image when no turning is needed, without copying.
    pub fn as_upright(&self) -> Option<&Image> {
        (self.orientation == 1).then_some(&self.stored)
    }

    /// The index in `stored.rgb` of displayed pixel (x, y).
    fn index(&self, x: usize, y: usize) -> usize {
        let (w, h) = (self.stored.width as usize, self.stored.height as usize);
        let (sx, sy) = stored_xy(self.orientation, w, h, x, y);
        (sy * w + sx) * 3
    }

    /// Displayed row `y` into `out` (`width × 3` bytes).
    pub fn row(&self, y: u32, out: &mut [u8]) {
        if self.orientation == 1 {
            let w = self.width as usize * 3;
            let start = y as usize * w;
            out.copy_from_slice(&self.stored.rgb[start..start + w]);
            return;
        }
        for (x, px) in out.chunks_exact_mut(3).enumerate() {
            let i = self.index(x, y as usize);
            px.copy_from_slice(&self.stored.rgb[i..i + 3]);
        }
    }

    /// The displayed pixels in `[left, top, right, bottom)`, clipped to the photo.
    pub fn crop(&self, rect: [i64; 4]) -> Image {
        let l = rect[0].clamp(0, self.width as i64) as usize;
        let t = rect[1].clamp(0, self.height as i64) as usize;
        let r = rect[2].clamp(l as i64, self.width as i64) as usize;
        let b = rect[3].clamp(t as i64, self.height as i64) as usize;
        let mut rgb = Vec::with_capacity((r - l) * (b - t) * 3);
        for y in t..b {
            if self.orientation == 1 {
                let start = (y * self.width as usize + l) * 3;
                rgb.extend_from_slice(&self.stored.rgb[start..start + (r - l) * 3]);
            } else {
                for x in l..r {
                    let i = self.index(x, y);
                    rgb.extend_from_slice(&self.stored.rgb[i..i + 3]);
                }
            }
        }
        Image {
            width: (r - l) as u32,
            height: (b - t) as u32,
            rgb,
        }
    }

    /// The displayed photo shrunk by the whole `factor` ([`box_shrink`]).
    pub fn downscaled(&self, factor: u32) -> Image {
        box_shrink(self, factor)
    }
}

impl Source for Photo {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }
    fn row(&self, y: u32, out: &mut [u8]) {
        Photo::row(self, y, out)
    }
    fn crop(&self, rect: [i64; 4]) -> Image {
        Photo::crop(self, rect)
    }
}

/// Reads a PNG or JPEG as RGB8 and turns it upright by its EXIF orientation
/// (phones store portrait photos sideways and say so in the tag).
pub fn read_upright(path: &Path) -> Result<Image> {
    Ok(Photo::open(path)?.upright())
}

/// `image` shrunk by the whole `factor`: each pixel the mean of a
/// `factor × factor` block (fewer at the right and bottom edges), blocks
/// counted from the top-left corner, so copy pixel (x, y) covers image
/// pixels `x·factor ..` and `y·factor ..`. Reads a row at a time.
pub fn box_shrink<S: Source + ?Sized>(image: &S, factor: u32) -> Image {
    let f = factor.max(1) as usize;
    let (w, h) = image.size();
    let (w, h) = (w as usize, h as usize);
    let (dw, dh) = (w.div_ceil(f), h.div_ceil(f));
    let mut rgb = vec![0u8; dw * dh * 3];
    let mut sums = vec![0u32; dw * 3];
    let mut row = vec![0u8; w * 3];
    for by in 0..dh {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = (by * f..((by + 1) * f).min(h)).len();
        for y in by * f..by * f + rows {
            image.row(y as u32, &mut row);
            for (x, px) in row.chunks_exact(3).enumerate() {
                let d = x / f * 3;
                sums[d] += px[0] as u32;
                sums[d + 1] += px[1] as u32;
                sums[d + 2] += px[2] as u32;
            }
        }
        for bx in 0..dw {
            let n = ((bx * f..((bx + 1) * f).min(w)).len() * rows) as u32;
            for c in 0..3 {
                rgb[(by * dw + bx) * 3 + c] = ((sums[bx * 3 + c] + n / 2) / n) as u8;
            }
        }
    }
    Image {
        width: dw as u32,
        height: dh as u32,
        rgb,
    }
}

/// Which stored pixel shows at displayed (x, y) under EXIF orientation `o`,
/// for a stored image `w × h`.
fn stored_xy(o: u32, w: usize, h: usize, x: usize, y: usize) -> (usize, usize) {
    match o {
        2 => (w - 1 - x, y),
        3 => (w - 1 - x, h - 1 - y),
        4 => (x, h - 1 - y),
        5 => (y, x),
        6 => (y, h - 1 - x),
        7 => (w - 1 - y, h - 1 - x),
        8 => (w - 1 - y, x),
        _ => (x, y),
    }
}

/// The EXIF orientation tag (1–8), 1 when there is none or it is unreadable.
pub fn exif_orientation(bytes: &[u8]) -> u32 {
    let mut cursor = std::io::Cursor::new(bytes);
    let Ok(exif) = exif::Reader::new().read_from_container(&mut cursor) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// Applies EXIF orientation `o`: the stored image → the displayed one.
pub fn orient(img: Image, o: u32) -> Image {
    Photo::new(img, o).upright()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_6_turns_the_stored_image_clockwise() {
        // Stored 2 wide, 1 high: [A B]. Shown rotated clockwise: A above B.
        let img = Image {
            width: 2,
            height: 1,
            rgb: vec![1, 1, 1, 2, 2, 2],
        };
        let up = orient(img.clone(), 6);
        assert_eq!((up.width, up.height), (1, 2));
        assert_eq!(up.rgb, vec![1, 1, 1, 2, 2, 2]);
        let up = orient(img, 8);
        assert_eq!(up.rgb, vec![2, 2, 2, 1, 1, 1]);
    }

    fn numbered(w: u32, h: u32) -> Image {
        Image {
            width: w,
            height: h,
            rgb: (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect(),
        }
    }

    /// Crops, shrunk copies and the FFHQ crop read through the orientation
    /// are those of the upright image, for all eight orientations.
    #[test]
    fn reading_through_the_orientation_is_reading_the_upright_image() {
        let stored = numbered(9, 6);
        for o in 1..=8 {
            let photo = Photo::new(stored.clone(), o);
            let upright = orient(stored.clone(), o);
            assert_eq!((photo.width, photo.height), (upright.width, upright.height));
            let rect = [1, 2, photo.width as i64 - 1, photo.height as i64];
            assert_eq!(
                photo.crop(rect).rgb,
                Source::crop(&upright, rect).rgb,
                "{o}"
            );
            for f in [1, 2, 4] {
                assert_eq!(
                    photo.downscaled(f).rgb,
                    box_shrink(&upright, f).rgb,
                    "{o} {f}"
                );
            }
        }
        // The FFHQ crop, with and without the official shrink.
        let stored = numbered(150, 200);
        let mut marks = vec![[90.0, 100.0]; 68];
        marks[36..42].fill([55.0, 80.0]);
        marks[42..48].fill([95.0, 82.0]);
        marks[48] = [62.0, 120.0];
        marks[54] = [88.0, 121.0];
        for o in [3, 6, 7] {
            let photo = Photo::new(stored.clone(), o);
            let upright = orient(stored.clone(), o);
            for (out, transform) in [(16, 64), (64, 128)] {
                let a = crate::align::align(&photo, &marks, out, transform).unwrap();
                let b = crate::align::align(&upright, &marks, out, transform).unwrap();
                assert_eq!(a.image.rgb, b.image.rgb, "{o} {out}");
            }
        }
        // Each shrunk pixel is its block's rounded mean.
        let img = Image {
            width: 3,
            height: 1,
            rgb: vec![0, 0, 0, 3, 3, 3, 9, 9, 9],
        };
        assert_eq!(box_shrink(&img, 2).rgb, vec![2, 2, 2, 9, 9, 9]);
    }
}
