//! GEDCOM 5.5.1 (lineage-linked, UTF-8) for genealogy programs such as
//! Gramps: one INDI per person with name, sex, families, a note with age
//! group and ancestry and the face as a multimedia link (relative path), and
//! one FAM per couple with children. Also a small reader, so the export can
//! be checked by parsing it back.

use super::manifest::{Manifest, PersonRecord};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The whole file.
pub fn to_gedcom(manifest: &Manifest) -> String {
    let xref: BTreeMap<&str, String> = manifest
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), format!("@I{}@", i + 1)))
        .collect();
    // Couples in order of their first child.
    let mut families: Vec<((&str, &str), Vec<&PersonRecord>)> = Vec::new();
    let mut family_of: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for p in &manifest.people {
        if let (Some(f), Some(m)) = (p.father.as_deref(), p.mother.as_deref()) {
            if !xref.contains_key(f) || !xref.contains_key(m) {
                continue;
            }
            let i = *family_of.entry((f, m)).or_insert_with(|| {
                families.push(((f, m), Vec::new()));
                families.len() - 1
            });
            families[i].1.push(p);
        }
    }
    let fam_xref = |i: usize| format!("@F{}@", i + 1);
    let mut spouse_in: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, ((f, m), _)) in families.iter().enumerate() {
        spouse_in.entry(f).or_default().push(i);
        spouse_in.entry(m).or_default().push(i);
    }

    let mut g = String::new();
    let mut line = |level: u8, text: &str| write_line(&mut g, level, text);
    line(0, "HEAD");
    line(1, "SOUR FAMSIM");
    line(2, &format!("VERS {}", env!("CARGO_PKG_VERSION")));
    line(2, "NAME famsim");
    line(1, "SUBM @SUBM1@");
    line(1, "GEDC");
    line(2, "VERS 5.5.1");
    line(2, "FORM LINEAGE-LINKED");
    line(1, "CHAR UTF-8");
    line(1, &format!("NOTE {}", clean(&manifest.scenario)));
    line(0, "@SUBM1@ SUBM");
    line(1, "NAME famsim");
    for p in &manifest.people {
        line(0, &format!("{} INDI", xref[p.id.as_str()]));
        line(1, &format!("NAME {}", clean(&gedcom_name(p))));
        line(
            1,
            &format!(
                "SEX {}",
                match p.sex {
                    crate::attributes::Sex::Male => "M",
                    crate::attributes::Sex::Female => "F",
                }
            ),
        );
        for &i in spouse_in.get(p.id.as_str()).into_iter().flatten() {
            line(1, &format!("FAMS {}", fam_xref(i)));
        }
        if let (Some(f), Some(m)) = (p.father.as_deref(), p.mother.as_deref()) {
            if let Some(&i) = family_of.get(&(f, m)) {
                line(1, &format!("FAMC {}", fam_xref(i)));
            }
        }
        let ancestry: Vec<String> = p.ancestry.iter().map(|a| a.to_string()).collect();
        line(
            1,
            &format!(
                "NOTE famsim id {}; age group {}; ancestry {}",
                clean(&p.id),
                p.age_group,
                ancestry.join(", ")
            ),
        );
        line(1, "OBJE");
        line(2, &format!("FILE {}", clean(&p.image)));
        line(3, "FORM png");
        line(2, &format!("TITL {}", clean(&p.name)));
    }
    for (i, ((f, m), children)) in families.iter().enumerate() {
        line(0, &format!("{} FAM", fam_xref(i)));
        line(1, &format!("HUSB {}", xref[f]));
        line(1, &format!("WIFE {}", xref[m]));
        for c in children {
            line(1, &format!("CHIL {}", xref[c.id.as_str()]));
        }
    }
    line(0, "TRLR");
    g
}

/// The NAME value: the surname between slashes, as genealogy programs file
/// people under it (`Arthur /Hale/`). The surname is the scenario's
/// `surname`, or else the last word of a display name with a space, after
/// dropping a closing remark in brackets ("Maria (Paul's first partner)"
/// has none). Without a surname the name is written as it is.
fn gedcom_name(p: &PersonRecord) -> String {
    let name = p.name.trim();
    let bare = match name.rfind(" (") {
        Some(i) if name.ends_with(')') => name[..i].trim_end(),
        _ => name,
    };
    let (given, surname) = match p.surname.as_deref().map(str::trim) {
        // "Arthur Hale" with surname "Hale" is Arthur /Hale/; "Mary" with
        // surname "Hale" is Mary /Hale/.
        Some(surname) => match bare.strip_suffix(surname) {
            Some(rest) if rest.trim().is_empty() || rest.ends_with(char::is_whitespace) => {
                (rest.trim_end(), surname)
            }
            _ => (name, surname),
        },
        None => match bare.rsplit_once(char::is_whitespace) {
            Some((given, last)) => (given.trim_end(), last),
            None => return name.to_string(),
        },
    };
    // A slash inside a part would end the surname early.
    let given = given.replace('/', " ");
    let surname = surname.replace('/', " ");
    if given.is_empty() {
        format!("/{surname}/")
    } else {
        format!("{given} /{surname}/")
    }
}

/// GEDCOM 5.5.1's longest line, terminator included. The standard counts
/// characters; counting UTF-8 bytes keeps byte-limited readers safe too.
pub const MAX_LINE_BYTES: usize = 255;

/// Writes `level text` (`text` = `[@XREF@ ]TAG[ value]`), moving whatever of
/// the value does not fit in [`MAX_LINE_BYTES`] onto `CONC` lines one level
/// down, so no value is cut short. A split never falls next to a space
/// (readers trim spaces at line ends, which would lose it) nor inside an
/// escaped `@@`.
fn write_line(g: &mut String, level: u8, text: &str) {
    // The tag ends at the first space after the optional cross-reference.
    let tag_start = if text.starts_with('@') {
        text.find(' ').map_or(text.len(), |i| i + 1)
    } else {
        0
    };
    let (head, value) = match text[tag_start..].find(' ') {
        Some(i) => (&text[..tag_start + i], &text[tag_start + i + 1..]),
        None => (text, ""),
    };
    let first = format!("{level} {head}");
    // Whole when the line and its newline fit (or there is no value to move).
    if format!("{level} {text}").len() < MAX_LINE_BYTES || value.is_empty() {
        let _ = writeln!(g, "{level} {text}");
        return;
    }
    let conc = format!("{} CONC", level + 1);
    let mut rest = value;
    let mut prefix = first.as_str();
    while !rest.is_empty() {
        // Room for the value after "prefix " and before the newline.
        let room = MAX_LINE_BYTES.saturating_sub(prefix.len() + 2);
        let end = split_point(rest, room);
        let _ = writeln!(g, "{prefix} {}", &rest[..end]);
        rest = &rest[end..];
        prefix = conc.as_str();
    }
}

/// Where to cut `value` so that its first part takes at most `room` bytes:
/// the whole value if it fits, else the last char boundary within `room`
/// that is not inside `@@` and has no space on either side (or the last
/// boundary within `room` if there is no such place).
fn split_point(value: &str, room: usize) -> usize {
    if value.len() <= room {
        return value.len();
    }
    let mut last_fit = 0;
    let mut best = 0;
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        // `@@` is one escaped `@`: keep the pair together.
        if c == '@' && chars.peek().is_some_and(|&(_, n)| n == '@') {
            chars.next();
            end += 1;
        }
        if end > room {
            break;
        }
        last_fit = end;
        let next_is_space = value[end..].starts_with(' ');
        if c != ' ' && !next_is_space {
            best = end;
        }
    }
    if best > 0 {
        best
    } else {
        last_fit.max(value.chars().next().map_or(1, char::len_utf8))
    }
}

/// A line value: no line breaks, no `@` (GEDCOM reserves it for pointers).
/// Long values are kept whole: the writer continues them on `CONC` lines.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('@', "@@")
}

/// One GEDCOM record or sub-record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GedcomNode {
    pub xref: Option<String>,
    pub tag: String,
    pub value: Option<String>,
    pub children: Vec<GedcomNode>,
}

impl GedcomNode {
    /// The first child with `tag`.
    pub fn child(&self, tag: &str) -> Option<&GedcomNode> {
        self.children.iter().find(|c| c.tag == tag)
    }

    /// Values of every child with `tag`.
    pub fn values(&self, tag: &str) -> Vec<&str> {
        self.children
            .iter()
            .filter(|c| c.tag == tag)
            .filter_map(|c| c.value.as_deref())
            .collect()
    }
}

/// Parses GEDCOM lines (`level [@xref@] TAG [value]`) into a record tree,
/// joining `CONC` (no separator) and `CONT` (a newline) lines onto the value
/// they continue. Errors name the line and what is wrong with it.
pub fn parse_gedcom(text: &str) -> Result<Vec<GedcomNode>, String> {
    let mut roots: Vec<GedcomNode> = Vec::new();
    // The open chain of records, one per level.
    let mut stack: Vec<GedcomNode> = Vec::new();
    let close_to = |stack: &mut Vec<GedcomNode>, roots: &mut Vec<GedcomNode>, level: usize| {
        while stack.len() > level {
            let node = stack.pop().expect("non-empty");
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => roots.push(node),
            }
        }
    };
    for (n, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() {
            continue;
        }
        let mut parts = l.splitn(2, ' ');
        let level: usize = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("line {}: no level number: `{l}`", n + 1))?;
        let rest = parts.next().unwrap_or("");
        let (xref, rest) = if rest.starts_with('@') {
            let (x, r) = rest.split_once(' ').unwrap_or((rest, ""));
            (Some(x.to_string()), r)
        } else {
            (None, rest)
        };
        let (tag, value) = match rest.split_once(' ') {
            Some((t, v)) => (t.to_string(), Some(v.to_string())),
            None => (rest.to_string(), None),
        };
        if tag.is_empty() {
            return Err(format!("line {}: no tag: `{l}`", n + 1));
        }
        if level > stack.len() {
            return Err(format!(
                "line {}: level {level} follows level {}",
                n + 1,
                stack.len().saturating_sub(1)
            ));
        }
        close_to(&mut stack, &mut roots, level);
        if tag == "CONC" || tag == "CONT" {
            let Some(parent) = stack.last_mut() else {
                return Err(format!("line {}: {tag} continues no value", n + 1));
            };
            let joined = parent.value.get_or_insert_with(String::new);
            if tag == "CONT" {
                joined.push('\n');
            }
            joined.push_str(value.as_deref().unwrap_or(""));
            continue;
        }
        stack.push(GedcomNode {
            xref,
            tag,
            value,
            children: Vec::new(),
        });
    }
    close_to(&mut stack, &mut roots, 0);
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_builds_the_record_tree_and_rejects_level_jumps() {
        let text =
            "0 HEAD\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n0 @I1@ INDI\n1 NAME Ann /Lee/\n0 TRLR\n";
        let records = parse_gedcom(text).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].child("GEDC").unwrap().values("VERS"), ["5.5.1"]);
        assert_eq!(records[1].xref.as_deref(), Some("@I1@"));
        assert_eq!(records[1].values("NAME"), ["Ann /Lee/"]);
        let err = parse_gedcom("0 HEAD\n2 VERS 1\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_gedcom("x HEAD\n").is_err());
    }

    #[test]
    fn names_carry_the_surname_between_slashes() {
        let person = |name: &str, surname: Option<&str>| PersonRecord {
            id: "p".into(),
            name: name.into(),
            surname: surname.map(String::from),
            sex: crate::attributes::Sex::Female,
            age_group: crate::attributes::AgeGroup::Age30To39,
            ancestry: Vec::new(),
            father: None,
            mother: None,
            generation: 0,
            image: "people/p.png".into(),
            founder_genes: None,
            pool_keys: Vec::new(),
            gamma: None,
            eta: None,
            lean: None,
            regions: Vec::new(),
        };
        let cases = [
            ("Arthur Hale", None, "Arthur /Hale/"),
            ("Mary Ann Hale", None, "Mary Ann /Hale/"),
            ("anna", None, "anna"),
            (
                "Maria (Paul's first partner)",
                None,
                "Maria (Paul's first partner)",
            ),
            ("Kenji Mori (grandpa)", None, "Kenji /Mori/"),
            ("Arthur Hale", Some("Hale"), "Arthur /Hale/"),
            ("Mary", Some("Hale"), "Mary /Hale/"),
            ("Jan van Dijk", Some("van Dijk"), "Jan /van Dijk/"),
            ("Hale", Some("Hale"), "/Hale/"),
        ];
        for (name, surname, want) in cases {
            assert_eq!(
                gedcom_name(&person(name, surname)),
                want,
                "{name} {surname:?}"
            );
        }
    }

    #[test]
    fn values_never_break_lines_or_fake_pointers() {
        assert_eq!(clean("a\nb @c"), "a b @@c");
        assert_eq!(clean(&"x".repeat(300)).len(), 300);
    }

    #[test]
    fn long_values_continue_on_conc_lines_and_read_back_whole() {
        // Two-byte letters, spaces and escaped `@`s, so a naive cut would
        // split a letter, a space or an `@@` pair.
        let value = clean(&"Жанна Мария @ab ".repeat(40));
        let mut g = String::new();
        write_line(&mut g, 1, &format!("NOTE {value}"));
        write_line(&mut g, 0, "@I1@ INDI");
        let lines: Vec<&str> = g.lines().collect();
        assert!(lines.len() > 3, "{g}");
        for (i, l) in lines.iter().enumerate() {
            assert!(
                l.len() < MAX_LINE_BYTES,
                "line {i} has {} bytes",
                l.len() + 1
            );
            if i > 0 && l.starts_with("2 CONC ") {
                assert!(
                    !l.starts_with("2 CONC  ") && !lines[i - 1].ends_with(' '),
                    "{l}"
                );
                assert!(!lines[i - 1].ends_with('@') || lines[i - 1].ends_with("@@"));
            }
        }
        assert!(lines[1..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("2 CONC ")));
        assert_eq!(lines.last(), Some(&"0 @I1@ INDI"));
        let records = parse_gedcom(&format!("0 @I1@ INDI\n{g}")).unwrap();
        assert_eq!(records[0].values("NOTE"), [value.as_str()]);
        // CONT keeps its line break.
        let cont = parse_gedcom("0 NOTE a\n1 CONT b\n1 CONC c\n").unwrap();
        assert_eq!(cont[0].value.as_deref(), Some("a\nbc"));
        assert!(parse_gedcom("0 CONC x\n").is_err());
    }
}
