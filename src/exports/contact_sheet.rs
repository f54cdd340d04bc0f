//! `contact_sheet.png`: every face of the run on one picture, a row per
//! generation, each labelled with the person's name.

use super::manifest::Manifest;
use super::png::decode_png;
use crate::error::{Error, Result};
use crate::image::Image;
use font8x8::UnicodeFonts;
use std::path::Path;

const CELL: u32 = 128;
const LABEL: u32 = 20;
const GAP: u32 = 8;
const MAX_COLUMNS: u32 = 12;
const BACKGROUND: [u8; 3] = [246, 243, 238];
const INK: [u8; 3] = [50, 50, 50];

/// Builds the sheet from the images in `run_dir` (a missing image leaves a grey tile).
pub fn contact_sheet(manifest: &Manifest, run_dir: &Path) -> Result<Image> {
    let display_rows = manifest.display_rows();
    let rows: Vec<Vec<_>> = (0..manifest.generations)
        .flat_map(|g| {
            let gen: Vec<_> = manifest
                .people
                .iter()
                .zip(&display_rows)
                .filter(|(_, &row)| row == g)
                .map(|(p, _)| p)
                .collect();
            gen.chunks(MAX_COLUMNS as usize)
                .map(|c| c.to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
    let width = GAP + columns * (CELL + GAP);
    let height = GAP + rows.len().max(1) as u32 * (CELL + LABEL + GAP);
    let mut sheet = Image {
        width,
        height,
        rgb: BACKGROUND.repeat((width * height) as usize),
    };
    for (r, row) in rows.iter().enumerate() {
        // Centre short rows so each generation reads as a line of the tree.
        let offset = (columns - row.len() as u32) * (CELL + GAP) / 2;
        for (c, person) in row.iter().enumerate() {
            let x = GAP + offset + c as u32 * (CELL + GAP);
            let y = GAP + r as u32 * (CELL + LABEL + GAP);
            let path = run_dir.join(&person.image);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let face = decode_png(&bytes)
                        .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
                    blit_scaled(&mut sheet, &face, x, y, CELL);
                }
                Err(_) => fill(&mut sheet, x, y, CELL, CELL, [200, 200, 200]),
            }
            draw_label(&mut sheet, &person.name, x, y + CELL + 4, CELL);
        }
    }
    Ok(sheet)
}

/// One row of labelled `cell`-px tiles on the sheet's background, e.g.
/// `famsim child`'s father | mother | child.
pub fn labelled_row(tiles: &[(&str, &Image)], cell: u32) -> Image {
    let width = GAP + tiles.len().max(1) as u32 * (cell + GAP);
    let height = GAP + cell + LABEL + GAP;
    let mut sheet = Image {
        width,
        height,
        rgb: BACKGROUND.repeat((width * height) as usize),
    };
    for (i, (label, face)) in tiles.iter().enumerate() {
        let x = GAP + i as u32 * (cell + GAP);
        blit_scaled(&mut sheet, face, x, GAP, cell);
        draw_label(&mut sheet, label, x, GAP + cell + 4, cell);
    }
    sheet
}

/// Area-averaging downscale (box filter) of `src` into a `size`×`size` tile.
fn blit_scaled(dst: &mut Image, src: &Image, x0: u32, y0: u32, size: u32) {
    for ty in 0..size {
        let sy0 = ty * src.height / size;
        let sy1 = ((ty + 1) * src.height / size).max(sy0 + 1);
        for tx in 0..size {
            let sx0 = tx * src.width / size;
            let sx1 = ((tx + 1) * src.width / size).max(sx0 + 1);
            let mut acc = [0u32; 3];
            for sy in sy0..sy1 {
                for sx in sx0..sx1 {
                    let i = ((sy * src.width + sx) * 3) as usize;
                    for (a, v) in acc.iter_mut().zip(&src.rgb[i..i + 3]) {
                        *a += u32::from(*v);
                    }
                }
            }
            let n = (sy1 - sy0) * (sx1 - sx0);
            let o = (((y0 + ty) * dst.width + x0 + tx) * 3) as usize;
            for (k, a) in acc.iter().enumerate() {
                dst.rgb[o + k] = ((a + n / 2) / n) as u8;
            }
        }
    }
}

fn fill(img: &mut Image, x0: u32, y0: u32, w: u32, h: u32, colour: [u8; 3]) {
    for y in y0..(y0 + h).min(img.height) {
        for x in x0..(x0 + w).min(img.width) {
            let o = ((y * img.width + x) * 3) as usize;
            img.rgb[o..o + 3].copy_from_slice(&colour);
        }
    }
}

/// Draws `text` centred in a `width`-wide box with the 8×8 bitmap font,
/// shortened with ".." when it does not fit; characters the font lacks become '?'.
fn draw_label(img: &mut Image, text: &str, x0: u32, y0: u32, width: u32) {
    let max_chars = (width / 8) as usize;
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() > max_chars {
        chars.truncate(max_chars - 2);
        chars.extend(['.', '.']);
    }
    let start = x0 + (width - chars.len() as u32 * 8) / 2;
    for (i, ch) in chars.iter().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(*ch)
            .or_else(|| font8x8::LATIN_FONTS.get(*ch))
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..8 {
                if bits & (1 << gx) != 0 {
                    fill(img, start + i as u32 * 8 + gx, y0 + gy as u32, 1, 1, INK);
                }
            }
        }
    }
}
