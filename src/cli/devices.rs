//! `famsim devices`: where the neural model can run on this machine with
//! this build, in the spelling `--device` and scenarios use.

use crate::error::Result;
use crate::model::stylegene::device::{device_name, devices};

/// Prints one line per device (the `--device` flag, the scenario's
/// `device:` value, what it is), then a note per kind that is not listed.
pub fn run() -> Result<()> {
    print!("{}", listing());
    Ok(())
}

fn listing() -> String {
    let (listed, notes) = devices();
    let rows: Vec<[String; 3]> = listed
        .iter()
        .map(|d| {
            [
                device_name(d.spec),
                format!("{:?}", d.spec),
                d.description.clone(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(8);
    let (w0, w1) = (width(0), width(1));
    let mut out = format!("{:w0$}  {:w1$}  DEVICE\n", "--device", "scenario");
    for [flag, scenario, what] in rows {
        out.push_str(&format!("{flag:w0$}  {scenario:w1$}  {what}\n"));
    }
    for note in notes {
        out.push_str(&format!("({note})\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_listing_starts_with_a_header_and_the_cpu() {
        let text = super::listing();
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("--device"));
        assert!(lines.next().unwrap().starts_with("cpu "), "{text}");
    }
}
