//! A shard's folder ([`crate::shard`]): its manifest and one file per unit, written one by
//! one, each whole, into a staging folder that becomes the shard folder when every unit is
//! there. A shard killed halfway leaves no shard folder, only the staging folder, whose
//! units a restart with `--resume` keeps.

use super::OutputDir;
use crate::error::{Error, InputError};
use crate::shard::{Manifest, UNITS, Unit, UnitFile, manifest};
use crate::study::Record;
use std::path::{Path, PathBuf};

/// A shard folder being written.
#[derive(Debug)]
pub struct ShardFolder {
    out: OutputDir,
}

impl ShardFolder {
    /// Starts writing the shard folder `dir`. With `resume`, the units an interrupted attempt
    /// finished are kept ([`ShardFolder::has`]); else the folder starts empty. A finished
    /// folder at `dir` stays as it is until [`ShardFolder::commit`].
    pub fn open(dir: &Path, resume: bool) -> Result<ShardFolder, Error> {
        let out = OutputDir::resumable(dir, resume)?;
        out.create_dir(UNITS)?;
        Ok(ShardFolder { out })
    }

    /// Writes the manifest, replacing an earlier attempt's.
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), Error> {
        let mut json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
        json.push(b'\n');
        self.out.write_whole(manifest::FILE, &json)
    }

    /// Whether `unit`'s file is there (written whole, by this attempt or an earlier one).
    pub fn has(&self, unit: Unit) -> bool {
        self.out.path(&unit.file()).is_file()
    }

    /// Writes `unit`'s record, whole or not at all.
    pub fn write_unit(&self, unit: Unit, record: &Record) -> Result<(), Error> {
        let file = UnitFile {
            point: unit.point,
            run: unit.run,
            record,
        };
        let json = serde_json::to_vec(&file).expect("a record serialises");
        self.out.write_whole(&unit.file(), &json)
    }

    /// Puts the shard folder in place, replacing what was there.
    pub fn commit(self) -> Result<PathBuf, Error> {
        self.out.commit()
    }
}

/// The manifest of an earlier attempt at the shard folder `dir`: an interrupted one's in its
/// staging folder, else a finished one's; `None` when there is neither.
pub fn earlier_manifest(dir: &Path) -> Result<Option<Manifest>, InputError> {
    for folder in [OutputDir::staging_of(dir), dir.to_path_buf()] {
        let path = folder.join(manifest::FILE);
        if path.is_file() {
            let bytes = std::fs::read(&path)
                .map_err(|e| InputError::general(format!("cannot read: {e}")).in_file(&path))?;
            return Manifest::parse(&bytes)
                .map(Some)
                .map_err(|e| e.in_file(&path));
        }
    }
    Ok(None)
}

/// Whether `dir` is a finished shard folder of exactly `manifest`, with every unit's file.
pub fn is_finished(dir: &Path, manifest: &Manifest) -> bool {
    !OutputDir::staging_of(dir).exists()
        && Manifest::read(dir).is_ok_and(|m| m == *manifest)
        && manifest.units.iter().all(|u| dir.join(u.file()).is_file())
}
