//! `famsim check`: validate a scenario and summarise it.

use crate::error::Result;
use crate::scenario;
use std::path::Path;

pub fn check(path: &Path) -> Result<()> {
    let loaded = scenario::load(path)?;
    let ped = &loaded.pedigree;
    let founders = ped.people().filter(|(_, p)| p.is_founder()).count();
    println!("{}: {}", path.display(), loaded.file.name);
    println!("  people:      {}", ped.len());
    println!("  generations: {}", ped.generations().len());
    println!("  founders:    {founders}");
    println!("  couples:     {}", ped.couples().len());
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    Ok(())
}
