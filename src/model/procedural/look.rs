//! From features and a subject to a concrete look: sizes on a unit canvas
//! (x right, y down, both 0..1) and colours.
//!
//! This is where age and sex act whatever the genes say: a child's face is
//! rounder with the eyes lower and a small nose and mouth, age brings wrinkles,
//! greying and (for men) a receding hairline, and only adult men grow beards.
//! Features are squashed with `tanh`, so any latent, however extreme, gives a
//! plausible face.

use super::params::{FaceParams, Feature};
use crate::attributes::Sex;
use crate::model::Subject;

/// An RGB colour with channels in 0..1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub fn lerp(self, o: Rgb, t: f32) -> Rgb {
        Rgb(
            self.0 + (o.0 - self.0) * t,
            self.1 + (o.1 - self.1) * t,
            self.2 + (o.2 - self.2) * t,
        )
    }

    pub fn scale(self, k: f32) -> Rgb {
        Rgb(self.0 * k, self.1 * k, self.2 * k)
    }

    pub fn clamped(self) -> Rgb {
        Rgb(
            self.0.clamp(0.0, 1.0),
            self.1.clamp(0.0, 1.0),
            self.2.clamp(0.0, 1.0),
        )
    }

    /// Relative luminance (Rec. 709 weights), for tests and contrast choices.
    pub fn luma(self) -> f32 {
        0.2126 * self.0 + 0.7152 * self.1 + 0.0722 * self.2
    }
}

/// Everything the painter needs, in unit-canvas coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Look {
    /// 1 for a newborn, falling to 0 at 18.
    pub child: f32,
    /// 0 up to 30, rising to 1 at about 76.
    pub old: f32,
    pub male: bool,
    pub adult: bool,

    // Head.
    pub cx: f32,
    pub head_top: f32,
    /// Head height from skull top to chin.
    pub head_h: f32,
    /// Half-width at the cheekbones (eye level).
    pub cheek_hw: f32,
    pub jaw_hw: f32,
    pub chin_hw: f32,
    /// Where the jaw corner is, as a fraction of head height.
    pub jaw_v: f32,
    /// Superellipse exponent of the jaw-to-chin curve: 2 round, 3+ square.
    pub jaw_square: f32,
    pub cheek_fullness: f32,
    pub neck_hw: f32,

    // Vertical landmarks (absolute y).
    pub eye_y: f32,
    pub brow_y: f32,
    pub nose_y: f32,
    pub mouth_y: f32,
    pub chin_y: f32,

    // Eyes.
    pub eye_dx: f32,
    pub eye_hw: f32,
    pub eye_hh: f32,
    pub eye_tilt: f32,
    pub iris_r: f32,
    pub lash: f32,

    // Brows.
    pub brow_thick: f32,
    pub brow_arch: f32,
    pub brow_tilt: f32,

    // Nose.
    pub ala_hw: f32,
    pub tip_r: f32,
    pub bridge_hw: f32,

    // Mouth.
    pub mouth_hw: f32,
    pub smile: f32,
    pub upper_lip: f32,
    pub lower_lip: f32,
    pub teeth_open: f32,

    // Ears.
    pub ear_top: f32,
    pub ear_h: f32,
    pub ear_out: f32,
    pub ear_lobe: f32,

    // Hair.
    /// 0 cropped .. 1 long; sets where the hair ends.
    pub hair_len: f32,
    pub hair_end_y: f32,
    /// Thickness of the hair mass around the skull.
    pub hair_vol: f32,
    pub hair_curl: f32,
    /// -1 parted on the left .. 1 on the right.
    pub hair_part: f32,
    pub fringe: f32,
    /// 0 full hairline .. 1 bald crown.
    pub recession: f32,
    /// 1 = full hair, lower = sparse (babies).
    pub hair_density: f32,

    // Facial hair (0 for women and children).
    pub beard: f32,
    pub stubble: f32,
    pub moustache: f32,

    // Skin marks.
    pub wrinkles: f32,
    /// How much darker than the skin its creases are (skin texture).
    pub crease_shade: f32,
    pub freckles: f32,
    pub blush: f32,
    pub shine: f32,
    pub under_eye: f32,

    // Colours.
    pub skin: Rgb,
    pub hair: Rgb,
    pub brow: Rgb,
    pub facial_hair: Rgb,
    pub iris: Rgb,
    pub iris_ring: f32,
    /// Brightness of the eye's catch light and whites.
    pub eye_shine: f32,
    pub lash_colour: Rgb,
    pub lip: Rgb,
    pub lip_line: f32,
    pub teeth: Rgb,
    pub nose_tint: f32,
    pub ear_tint: f32,
    pub background_top: Rgb,
    pub background_bottom: Rgb,
    pub shirt: Rgb,
}

fn soft(x: f32) -> f32 {
    // Bounded to ±1 with unit slope near zero over the usual ±1 range of a feature.
    (x / 2.0).tanh() * 2.0 / 2.5
}

fn sig(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn smoothstep(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Piecewise-linear colour ramp over stops at increasing positions.
fn ramp(stops: &[(f32, Rgb)], t: f32) -> Rgb {
    let t = t.clamp(stops[0].0, stops[stops.len() - 1].0);
    for w in stops.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if t <= b {
            return ca.lerp(cb, (t - a) / (b - a));
        }
    }
    stops[stops.len() - 1].1
}

/// Colour from hue (degrees), saturation and lightness.
fn hsl(h: f32, s: f32, l: f32) -> Rgb {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h.rem_euclid(360.0) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    Rgb(r + m, g + m, b + m)
}

/// Skin colour for a lightness in 0..1 (deep brown to very fair).
pub fn skin_colour(lightness: f32, warmth: f32) -> Rgb {
    let base = ramp(
        &[
            (0.0, Rgb(0.23, 0.14, 0.09)),
            (0.3, Rgb(0.50, 0.33, 0.22)),
            (0.55, Rgb(0.76, 0.57, 0.42)),
            (0.8, Rgb(0.93, 0.77, 0.65)),
            (1.0, Rgb(0.99, 0.88, 0.80)),
        ],
        lightness,
    );
    // Warm = golden/olive, cool = pink.
    Rgb(
        base.0 + 0.01 * warmth,
        base.1 + 0.025 * warmth,
        base.2 - 0.045 * warmth,
    )
    .clamped()
}

impl Look {
    pub fn new(p: &FaceParams, subject: Subject) -> Look {
        use Feature::*;
        let f = |x: Feature| soft(p.get(x));
        let years = subject.age.typical_years();
        let child = ((18.0 - years) / 17.0).clamp(0.0, 1.0);
        let baby = ((4.0 - years) / 3.0).clamp(0.0, 1.0);
        let old = ((years - 30.0) / 46.0).clamp(0.0, 1.0);
        let male = subject.sex == Sex::Male;
        let adult = years >= 18.0;
        let mf = |m: f32, w: f32| if male { m } else { w };
        // Sexual dimorphism grows through puberty.
        let dimorph = 1.0 - smoothstep(0.1, 0.6, child);

        // Head: children's heads are rounder, with a bigger cranium above the eyes.
        let head_h = 0.67 * (1.0 + 0.05 * f(FaceLength)) - 0.07 * child;
        let head_top = 0.13 + 0.035 * child;
        let cheek_hw = head_h
            * (0.335
                + 0.055 * child
                + 0.02 * f(FaceWidth)
                + 0.008 * f(Cheekbones)
                + dimorph * mf(0.008, -0.004));
        let jaw_hw = cheek_hw
            * (0.80 + 0.07 * f(JawWidth) + dimorph * mf(0.05, -0.03) - 0.05 * child
                + 0.05 * baby
                + 0.03 * old);
        let chin_hw = cheek_hw * (0.30 + 0.07 * f(ChinWidth) + dimorph * mf(0.07, 0.0));
        let jaw_v = 0.80 + 0.02 * f(JawWidth) + 0.03 * old - 0.02 * child;
        let jaw_square =
            (2.2 + 0.7 * f(JawSquareness) + dimorph * mf(0.5, -0.2) - 0.5 * child).clamp(1.6, 3.6);
        // Babies have chubby cheeks.
        let cheek_fullness =
            head_h * (0.012 * f(CheekFullness) + 0.025 * child + 0.025 * baby + 0.008);
        let neck_hw =
            jaw_hw * (0.66 + 0.06 * f(NeckWidth) + dimorph * mf(0.08, -0.04) - 0.06 * child);

        // Vertical landmarks as fractions of head height from the skull top.
        let eye_v = 0.47 + 0.10 * child + 0.02 * f(ForeheadHeight) + 0.01 * baby;
        let nose_v = 0.685 + 0.07 * child + 0.03 * f(NoseLength) - 0.01 * baby;
        let mouth_v = 0.795 + 0.05 * child + 0.015 * f(PhiltrumLength) + 0.01 * f(NoseLength)
            - 0.02 * f(ChinLength)
            + 0.01 * old;
        let y = |v: f32| head_top + head_h * v;

        // Eyes: bigger relative to the face in children, hooded with age.
        let eye_hw = cheek_hw * (0.22 + 0.02 * f(EyeWidth) + 0.03 * child);
        let eye_hh = eye_hw
            * (0.40 + 0.09 * f(EyeOpenness) + 0.08 * child - 0.06 * old
                + dimorph * mf(-0.02, 0.02));
        let eye_dx = cheek_hw * (0.44 + 0.04 * f(EyeSpacing));
        let eye_tilt = 0.12 * f(EyeTilt) + 0.02;
        let iris_r = eye_hw * (0.43 + 0.04 * f(IrisSize) + 0.07 * child);
        let lash = (0.7 + 0.35 * f(LashLength) + dimorph * mf(-0.1, 0.35) + 0.1 * child).max(0.25);

        // Brows: thicker, lower and flatter in men; thin out in babies.
        let eye_y = y(eye_v);
        let brow_y =
            eye_y - eye_hh - head_h * (0.045 + 0.012 * f(BrowHeight) + dimorph * mf(-0.006, 0.008));
        let brow_thick = head_h
            * (0.022 + 0.006 * f(BrowThickness) + dimorph * mf(0.006, -0.002) - 0.008 * child);
        let brow_arch =
            head_h * (0.012 + 0.008 * f(BrowArch) + dimorph * mf(-0.003, 0.007)).max(0.0);
        let brow_tilt = head_h * 0.012 * f(BrowTilt);

        // Nose: small and button-like in children.
        let ala_hw = cheek_hw * (0.20 + 0.035 * f(NoseWidth)) * (1.0 - 0.22 * child);
        let tip_r = ala_hw * (0.5 + 0.1 * f(NoseTip));
        let bridge_hw = ala_hw * (0.35 + 0.08 * f(NoseBridgeWidth));

        // Mouth.
        let mouth_hw = cheek_hw * (0.36 + 0.045 * f(MouthWidth)) * (1.0 - 0.2 * child);
        let smile = head_h * (0.006 + 0.008 * f(Smile));
        let teeth_open = smoothstep(0.35, 0.75, f(Smile)) * (1.0 - baby);
        let upper_lip = head_h
            * (0.019 + 0.005 * f(UpperLip) + dimorph * mf(-0.002, 0.004))
            * (1.0 - 0.25 * old);
        let lower_lip = head_h
            * (0.026 + 0.006 * f(LowerLip) + dimorph * mf(-0.002, 0.004))
            * (1.0 - 0.2 * old);

        // Ears: grow a little all life.
        let ear_top = eye_y - eye_hh * 1.2 + head_h * 0.012 * f(EarHeight);
        let ear_h = head_h * (0.22 + 0.025 * f(EarSize) + 0.02 * old - 0.03 * child);
        let ear_out = head_h * (0.045 + 0.018 * f(EarProtrusion));
        let ear_lobe = 0.5 + 0.4 * f(EarLobe) + 0.2 * old;

        // Hair: sex sets the usual length, the genes vary it; babies have a little fuzz.
        // Hair is sex-typed from early childhood on, unlike the face.
        let hair_sex = 1.0 - baby;
        let hair_len = sig(2.2 * f(HairLength) + hair_sex * mf(-1.4, 1.1)) * (1.0 - 0.85 * baby);
        let hair_curl = sig(2.5 * (p.get(HairCurl) - 0.8));
        let hair_vol = head_h
            * (0.025 + 0.02 * sig(2.0 * f(HairVolume)) + 0.06 * hair_curl * hair_curl)
            * (1.0 - 0.7 * baby);
        let chin_y = y(1.0);
        let hair_end_y = eye_y - eye_hh + hair_len * (chin_y + 0.18 - eye_y);
        let hair_part = f(HairPart).clamp(-1.0, 1.0);
        let fringe = smoothstep(0.35, 0.85, sig(3.5 * f(Fringe) - 0.6)) * (1.0 - 0.6 * baby);
        let recession = if male && adult {
            old * sig(3.0 * f(Recession) + 0.6)
        } else {
            0.15 * old * sig(2.0 * f(Recession))
        };
        let hair_density = 1.0 - 0.55 * baby;

        // Facial hair: adult men only.
        let (beard, stubble, moustache) = if male && adult {
            let b = sig(3.0 * f(Beard) - 0.4);
            let m = sig(3.0 * f(MoustacheSize) - 0.6);
            (
                smoothstep(0.55, 0.85, b),
                smoothstep(0.2, 0.5, b),
                smoothstep(0.6, 0.85, m).max(smoothstep(0.7, 0.9, b)),
            )
        } else {
            (0.0, 0.0, 0.0)
        };

        let wrinkles = old * (0.45 + 0.55 * sig(2.5 * f(Wrinkling)));

        // Colours.
        let skin = skin_colour(
            sig(1.0 * p.get(SkinLightness) + 0.25 * child),
            0.8 * f(SkinWarmth) * 2.5 / 2.0,
        );
        let greying =
            (1.25 * old + 0.3 * f(Greying) - 0.2).clamp(0.0, 1.0) * smoothstep(24.0, 36.0, years);
        let darkness = sig(1.15 * p.get(HairDarkness));
        let mut hair = ramp(
            &[
                (0.0, Rgb(0.92, 0.82, 0.58)),
                (0.25, Rgb(0.78, 0.60, 0.33)),
                (0.5, Rgb(0.45, 0.29, 0.16)),
                (0.75, Rgb(0.20, 0.13, 0.09)),
                (1.0, Rgb(0.07, 0.06, 0.06)),
            ],
            darkness,
        );
        let red = sig(2.2 * (p.get(HairRedness) - 1.0)) * (1.0 - darkness).sqrt();
        hair = hair.lerp(Rgb(0.70, 0.30, 0.12), 0.85 * red);
        let grey = Rgb(0.80, 0.80, 0.81).lerp(Rgb(0.95, 0.95, 0.96), old);
        // Brows and beards grey later than the scalp.
        let brow = hair
            .scale(0.62 - 0.22 * sig(2.0 * f(BrowDarkness)))
            .lerp(grey, 0.5 * greying);
        let facial_hair = hair
            .scale(0.9 - 0.2 * f(FacialHairDarkness))
            .lerp(grey, 0.8 * greying)
            .clamped();
        let hair = hair.lerp(grey, greying);

        let iris_dark = sig(1.25 * p.get(IrisDarkness));
        let hue = f(IrisHue);
        let light_iris = if hue < 0.0 {
            Rgb(0.50, 0.60, 0.66).lerp(Rgb(0.30, 0.52, 0.80), -hue)
        } else {
            Rgb(0.50, 0.60, 0.66).lerp(Rgb(0.40, 0.58, 0.33), hue)
        };
        let iris = ramp(
            &[
                (0.0, light_iris),
                (0.45, Rgb(0.55, 0.45, 0.22)),
                (0.7, Rgb(0.38, 0.22, 0.10)),
                (1.0, Rgb(0.16, 0.09, 0.05)),
            ],
            iris_dark,
        );
        let iris_ring = 0.35 + 0.3 * sig(2.0 * f(IrisRing));
        let lash_colour = hair
            .lerp(
                Rgb(0.05, 0.04, 0.04),
                0.5 + 0.4 * sig(2.0 * f(LashDarkness)),
            )
            .clamped();

        let red_lip = Rgb(0.78, 0.33, 0.35);
        let lip = skin
            .scale(0.92)
            .lerp(
                red_lip,
                0.22 + 0.18 * sig(2.0 * f(LipRedness)) + 0.08 * child + dimorph * mf(0.0, 0.08),
            )
            .scale(1.0 - 0.35 * sig(2.5 * (f(LipDarkness) - 0.2)))
            .clamped();
        let lip_line = 0.45 + 0.25 * sig(2.0 * f(LipLine));
        let teeth = Rgb(0.96, 0.94, 0.88).lerp(
            Rgb(0.86, 0.80, 0.66),
            sig(2.0 * f(TeethShade)) * (0.5 + 0.5 * old),
        );

        let bg_hue = 205.0 + 120.0 * f(BackgroundHue);
        let bg_l = 0.80 + 0.08 * f(BackgroundLightness);
        let background_top = hsl(bg_hue, 0.35, bg_l + 0.05);
        let background_bottom = hsl(bg_hue + 15.0, 0.30, bg_l - 0.08);
        let shirt = hsl(
            (180.0 + 220.0 * f(ShirtHue)).rem_euclid(360.0),
            0.35 + 0.15 * child,
            0.40 + 0.18 * f(ShirtLightness),
        );

        Look {
            child,
            old,
            male,
            adult,
            cx: 0.5,
            head_top,
            head_h,
            cheek_hw,
            jaw_hw,
            chin_hw,
            jaw_v,
            jaw_square,
            cheek_fullness,
            neck_hw,
            eye_y,
            brow_y,
            nose_y: y(nose_v),
            mouth_y: y(mouth_v),
            chin_y,
            eye_dx,
            eye_hw,
            eye_hh,
            eye_tilt,
            iris_r,
            lash,
            brow_thick,
            brow_arch,
            brow_tilt,
            ala_hw,
            tip_r,
            bridge_hw,
            mouth_hw,
            smile,
            upper_lip,
            lower_lip,
            teeth_open,
            ear_top,
            ear_h,
            ear_out,
            ear_lobe,
            hair_len,
            hair_end_y,
            hair_vol,
            hair_curl,
            hair_part,
            fringe,
            recession,
            hair_density,
            beard,
            stubble,
            moustache,
            wrinkles,
            crease_shade: 0.72 - 0.16 * sig(2.0 * f(SkinTexture)),
            freckles: smoothstep(0.3, 0.8, sig(2.0 * p.get(Freckles))) * (1.0 - 0.5 * old),
            blush: 0.10 * sig(2.0 * f(Blush)) + 0.08 * child,
            shine: 0.10 * sig(2.0 * f(Shine)),
            under_eye: 0.08 * sig(2.0 * f(UnderEye)) + 0.12 * old,
            skin,
            hair,
            brow,
            facial_hair,
            iris,
            iris_ring,
            eye_shine: 0.6 + 0.35 * sig(2.0 * f(EyeShine)),
            lash_colour,
            lip,
            lip_line,
            teeth,
            nose_tint: 0.08 * sig(2.0 * f(NoseRedness)) + 0.04 * old,
            ear_tint: 0.10 * sig(2.0 * f(EarRedness)),
            background_top,
            background_bottom,
            shirt,
        }
    }

    /// Half-width of the face at `v` (0 = skull top, 1 = chin) and its y.
    pub fn profile(&self, v: f32) -> (f32, f32) {
        let eye_v = (self.eye_y - self.head_top) / self.head_h;
        let y = self.head_top + self.head_h * v;
        let hw = if v <= eye_v {
            // The skull: a half-ellipse above the eyes.
            let t = ((eye_v - v) / eye_v).clamp(0.0, 1.0);
            self.cheek_hw * (1.0 - t * t).max(0.0).powf(0.5)
        } else if v <= self.jaw_v {
            // Cheeks to the jaw corner; fullness bulges the middle.
            let t = (v - eye_v) / (self.jaw_v - eye_v);
            let base = self.cheek_hw + (self.jaw_hw - self.cheek_hw) * t.powf(1.5);
            base + self.cheek_fullness * (std::f32::consts::PI * t).sin() * 0.6
        } else {
            // Jaw corner to chin: a superellipse quadrant, squarer for larger exponents.
            let s = ((v - self.jaw_v) / (1.0 - self.jaw_v)).clamp(0.0, 1.0);
            let p = self.jaw_square;
            self.chin_hw + (self.jaw_hw - self.chin_hw) * (1.0 - s.powf(p)).max(0.0).powf(1.0 / p)
        };
        (hw, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_hit_their_stops_and_clamp() {
        let stops = [(0.0, Rgb(0.0, 0.0, 0.0)), (1.0, Rgb(1.0, 0.5, 0.0))];
        assert_eq!(ramp(&stops, 0.5), Rgb(0.5, 0.25, 0.0));
        assert_eq!(ramp(&stops, 7.0), Rgb(1.0, 0.5, 0.0));
        assert!(skin_colour(0.9, 0.0).luma() > skin_colour(0.1, 0.0).luma() + 0.4);
    }
}
