//! Families In the Wild: `F####/MID#/*.jpg` and, per family, `mid.csv`,
//! a relationship matrix whose row i, column j says what member i is to
//! member j (1 child, 2 sibling, 3 grandchild, 4 parent, 5 spouse,
//! 6 grandparent, 7 great-grandchild, 8 great-grandparent, 9 unknown),
//! followed by `Name` and `Gender` columns.
//!
//! FIW's matrices leave links out (a grandparent may have no recorded
//! child in the family), so its families are marked incomplete: two members
//! without a recorded relation are not taken for non-kin. Siblings are taken
//! for full siblings (FIW does not tell half-siblings apart).

use super::super::{EvalFamily, EvalPerson, EvalSet, Kin, Layout};
use super::csv::table;
use super::is_family_folder;
use crate::attributes::Sex;
use crate::dataset::relations::Relation;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Image files FIW (and famsim) use.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

/// Reads every family folder under `root` (which is `dir` or `dir/FIDs`).
pub fn read(dir: &Path, root: &Path) -> Result<EvalSet> {
    let mut set = EvalSet {
        root: dir.to_path_buf(),
        layout: Layout::Fiw,
        families: Vec::new(),
        people: Vec::new(),
        kin: Vec::new(),
    };
    let mut folders: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, path)| is_family_folder(name) && path.join("mid.csv").is_file())
        .collect();
    folders.sort();
    for (fid, path) in folders {
        read_family(&mut set, &fid, &path)?;
    }
    Ok(set)
}

/// What member i is to member j in `mid.csv`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rid {
    Child,
    Sibling,
    Grandchild,
    Parent,
    Grandparent,
    GreatGrandchild,
    GreatGrandparent,
    Other,
}

fn rid(code: &str) -> Rid {
    match code.trim() {
        "1" => Rid::Child,
        "2" => Rid::Sibling,
        "3" => Rid::Grandchild,
        "4" => Rid::Parent,
        "6" => Rid::Grandparent,
        "7" => Rid::GreatGrandchild,
        "8" => Rid::GreatGrandparent,
        _ => Rid::Other,
    }
}

/// A kin link between two members, the elder first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Link {
    ParentChild,
    Siblings,
    Grand,
    GreatGrand,
}

impl Link {
    fn kinship(self) -> f64 {
        match self {
            Link::ParentChild | Link::Siblings => 0.25,
            Link::Grand => 0.125,
            Link::GreatGrand => 0.0625,
        }
    }
}

/// (elder, young, link) from what `x` is to `y`.
fn link(r: Rid, x: usize, y: usize) -> Option<(usize, usize, Link)> {
    Some(match r {
        Rid::Parent => (x, y, Link::ParentChild),
        Rid::Child => (y, x, Link::ParentChild),
        Rid::Sibling => (x, y, Link::Siblings),
        Rid::Grandparent => (x, y, Link::Grand),
        Rid::Grandchild => (y, x, Link::Grand),
        Rid::GreatGrandparent => (x, y, Link::GreatGrand),
        Rid::GreatGrandchild => (y, x, Link::GreatGrand),
        Rid::Other => return None,
    })
}

/// The FIW type of a link, when both sexes are known; siblings of mixed
/// sexes are ordered brother first.
fn relation(
    link: Link,
    (a, sa): (usize, Option<Sex>),
    (b, sb): (usize, Option<Sex>),
) -> (usize, usize, Option<Relation>) {
    use Relation::*;
    let (Some(sa), Some(sb)) = (sa, sb) else {
        return (a, b, None);
    };
    let by_sex = |table: [Relation; 4]| match (sa, sb) {
        (Sex::Male, Sex::Male) => table[0],
        (Sex::Male, Sex::Female) => table[1],
        (Sex::Female, Sex::Male) => table[2],
        (Sex::Female, Sex::Female) => table[3],
    };
    match link {
        Link::ParentChild => (a, b, Some(by_sex([Fs, Fd, Ms, Md]))),
        Link::Grand => (a, b, Some(by_sex([Gfgs, Gfgd, Gmgs, Gmgd]))),
        Link::GreatGrand => (a, b, None),
        Link::Siblings => match (sa, sb) {
            (Sex::Male, Sex::Male) => (a, b, Some(Bb)),
            (Sex::Female, Sex::Female) => (a, b, Some(Ss)),
            (Sex::Male, Sex::Female) => (a, b, Some(Sibs)),
            (Sex::Female, Sex::Male) => (b, a, Some(Sibs)),
        },
    }
}

fn read_family(set: &mut EvalSet, fid: &str, dir: &Path) -> Result<()> {
    let path = dir.join("mid.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let bad =
        |line: usize, what: String| Error::input(format!("{}:{line}: {what}", path.display()));
    let Some((header, rows)) = table(&text) else {
        return Err(bad(1, "empty relationship matrix".into()));
    };
    let gender_col = header
        .iter()
        .position(|h| h.eq_ignore_ascii_case("gender"))
        .ok_or_else(|| bad(1, "no `Gender` column".into()))?;
    // The matrix columns: the header cells between the first and `Name`/`Gender` that are numbers.
    let matrix_cols: Vec<(usize, usize)> = header
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(c, h)| h.parse::<usize>().ok().map(|mid| (c, mid)))
        .collect();
    let family = set.families.len();
    set.families.push(EvalFamily {
        fid: fid.to_string(),
        split: None,
        complete: false,
    });
    let first = set.people.len();
    let mut mids = Vec::new();
    for (line, row) in &rows {
        let mid: usize = row
            .first()
            .and_then(|m| m.trim().parse().ok())
            .ok_or_else(|| bad(*line, format!("`{}` is not a member number", row[0])))?;
        let sex = match row.get(gender_col).map(|g| g.trim().to_ascii_lowercase()) {
            Some(g) if g == "m" || g == "male" => Some(Sex::Male),
            Some(g) if g == "f" || g == "female" => Some(Sex::Female),
            _ => None,
        };
        let member_dir = dir.join(format!("MID{mid}"));
        set.people.push(EvalPerson {
            id: format!("{fid}/MID{mid}"),
            family,
            sex,
            age: None,
            images: images_in(&member_dir)?,
            father: None,
            mother: None,
            regions: Vec::new(),
            params: None,
            genes_known: false,
        });
        mids.push(mid);
    }
    let position = |mid: usize| mids.iter().position(|&m| m == mid);
    // rel[i][j]: what member i is to member j.
    let n = mids.len();
    let mut rel = vec![Rid::Other; n * n];
    for (i, (line, row)) in rows.iter().enumerate() {
        for &(c, mid) in &matrix_cols {
            let Some(j) = position(mid) else {
                return Err(bad(
                    *line,
                    format!("column {mid} names no member listed in the table"),
                ));
            };
            rel[i * n + j] = rid(row.get(c).map(String::as_str).unwrap_or(""));
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            // The row of the lower member first, the transposed entry if it is blank.
            let Some((elder, young, how)) =
                link(rel[i * n + j], i, j).or_else(|| link(rel[j * n + i], j, i))
            else {
                continue;
            };
            let sex = |k: usize| set.people[first + k].sex;
            let (a, b, relation) = relation(how, (elder, sex(elder)), (young, sex(young)));
            set.kin.push(Kin {
                a: first + a,
                b: first + b,
                relation,
                kinship: how.kinship(),
            });
            if how == Link::ParentChild {
                let elder_sex = set.people[first + elder].sex;
                let child = &mut set.people[first + young];
                let slot = match elder_sex {
                    Some(Sex::Male) => &mut child.father,
                    Some(Sex::Female) => &mut child.mother,
                    None => continue,
                };
                if slot.is_none() {
                    *slot = Some(first + elder);
                }
            }
        }
    }
    Ok(())
}

/// The images of one member folder, sorted by name (a member without a
/// folder has none).
fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut images: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    images.sort();
    Ok(images)
}
