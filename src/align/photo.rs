//! Reading a photo the way a viewer shows it: JPEG EXIF orientation applied.

use crate::error::Result;
use crate::image::Image;
use std::path::Path;

/// Reads a PNG or JPEG as RGB8 and turns it upright by its EXIF orientation
/// (phones store portrait photos sideways and say so in the tag).
pub fn read_upright(path: &Path) -> Result<Image> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(crate::Error::input(format!(
            "{}: empty file (0 bytes), not an image",
            path.display()
        )));
    }
    let image = crate::io::photo::read_photo(path)?;
    Ok(orient(image, exif_orientation(&bytes)))
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
    if o == 1 {
        return img;
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let swap = o >= 5;
    let (nw, nh) = if swap { (h, w) } else { (w, h) };
    let mut rgb = vec![0u8; img.rgb.len()];
    for y in 0..nh {
        for x in 0..nw {
            // Which stored pixel shows at displayed (x, y).
            let (sx, sy) = match o {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x), // 8
            };
            let s = (sy * w + sx) * 3;
            let d = (y * nw + x) * 3;
            rgb[d..d + 3].copy_from_slice(&img.rgb[s..s + 3]);
        }
    }
    Image {
        width: nw as u32,
        height: nh as u32,
        rgb,
    }
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
}
