//! `famsim eval --sweep gamma=0.3,0.47,0.6 eta=0.2,0.4`: the grid of
//! crossover parameters (the paper's ablation), and what the report keeps
//! of each point's evaluation — how resemblance and diversity move. The
//! datasets themselves are made by `famsim dataset`'s own code (see
//! `crate::cli::eval`).

use super::metrics::MeanCi;
use super::FolderMetrics;
use crate::error::{Error, Result};
use serde::Serialize;

/// The values swept; a parameter not swept keeps the spec's value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Grid {
    pub gamma: Option<Vec<f32>>,
    pub eta: Option<Vec<f32>>,
}

/// Parses `gamma=0.3,0.47,0.6` and `eta=0.2,0.4` (each at most once).
pub fn parse_grid(args: &[String]) -> Result<Grid> {
    let mut grid = Grid::default();
    for arg in args {
        let Some((name, values)) = arg.split_once('=') else {
            return Err(Error::input(format!(
                "--sweep {arg}: expected NAME=V1,V2,… (gamma=0.3,0.47,0.6 or eta=0.2,0.4)"
            )));
        };
        let parsed: Vec<f32> = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        Error::input(format!("--sweep {arg}: `{v}` is not a number from 0 to 1"))
                    })
            })
            .collect::<Result<_>>()?;
        let slot = match name.trim() {
            "gamma" => &mut grid.gamma,
            "eta" => &mut grid.eta,
            other => {
                return Err(Error::input(format!(
                    "--sweep {arg}: `{other}` cannot be swept; sweep gamma and/or eta"
                )))
            }
        };
        if slot.is_some() {
            return Err(Error::input(format!("--sweep names {name} twice")));
        }
        *slot = Some(parsed);
    }
    if grid.gamma.is_none() && grid.eta.is_none() {
        return Err(Error::input("--sweep needs gamma=… and/or eta=…"));
    }
    Ok(grid)
}

impl Grid {
    /// Every (gamma, eta) of the grid, gamma varying slowest; `spec` fills in
    /// a parameter that is not swept.
    pub fn points(&self, spec: (f32, f32)) -> Vec<(f32, f32)> {
        let gammas = self.gamma.clone().unwrap_or_else(|| vec![spec.0]);
        let etas = self.eta.clone().unwrap_or_else(|| vec![spec.1]);
        gammas
            .iter()
            .flat_map(|&g| etas.iter().map(move |&e| (g, e)))
            .collect()
    }
}

/// The folder name of one point's dataset.
pub fn point_name(gamma: f32, eta: f32) -> String {
    format!("gamma{gamma}_eta{eta}")
}

/// What moves along the sweep, in one space.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointFigures {
    /// Mean similarity per kinship coefficient (label, mean), highest first.
    pub resemblance: Vec<(String, f64)>,
    pub slope: Option<f64>,
    pub monotone: Option<bool>,
    pub diversity: Option<MeanCi>,
    pub average_auc: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    pub gamma: f32,
    pub eta: f32,
    /// The point's dataset folder.
    pub dataset: String,
    pub genes: Option<PointFigures>,
    pub faces: Option<PointFigures>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    pub spec: String,
    pub families: usize,
    pub points: Vec<SweepPoint>,
}

/// The sweep's summary of one point's evaluation.
pub fn summarize(gamma: f32, eta: f32, m: &FolderMetrics) -> SweepPoint {
    let figures = |f: &Option<super::figures::SpaceFigures>| {
        f.as_ref().map(|f| PointFigures {
            resemblance: f
                .resemblance
                .levels
                .iter()
                .map(|l| (l.label.clone(), l.similarity.mean))
                .collect(),
            slope: f.resemblance.slope,
            monotone: f.resemblance.monotone,
            diversity: f.diversity.mean_distance.clone(),
            average_auc: f.verification.average_auc,
        })
    };
    SweepPoint {
        gamma,
        eta,
        dataset: m.folder.clone(),
        genes: figures(&m.genes.figures),
        faces: figures(&m.faces.figures),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_parsing() {
        let g = parse_grid(&["gamma=0.3,0.47,0.6".into(), "eta=0.2,0.4".into()]).unwrap();
        assert_eq!(g.points((0.47, 0.4)).len(), 6);
        assert_eq!(g.points((0.47, 0.4))[1], (0.3, 0.4));
        let g = parse_grid(&["eta=0.2".into()]).unwrap();
        assert_eq!(g.points((0.5, 0.4)), vec![(0.5, 0.2)]);
        for bad in ["gamma", "gamma=x", "gamma=1.5", "delta=0.1", ""] {
            let e = parse_grid(&[bad.to_string()]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        assert!(parse_grid(&["eta=0.1".into(), "eta=0.2".into()]).is_err());
        assert_eq!(point_name(0.3, 0.2), "gamma0.3_eta0.2");
    }
}
