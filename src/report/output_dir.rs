//! Writing a results folder all at once: files go into a hidden temporary folder beside the
//! target, which replaces the target only when every file is written. A failure, or an
//! interrupted process, leaves the previous results as they were.

use crate::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

/// A results folder being written.
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// A sibling of `target` named `.{name}.{tag}-{pid}`.
fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    target.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

impl OutputDir {
    /// Starts writing the folder `target` (created with its parents on commit).
    pub fn create(target: &Path) -> Result<OutputDir, Error> {
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let staging = sibling(target, "partial");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_error(&staging))?;
        }
        fs::create_dir(&staging).map_err(io_error(&staging))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Writes one file into the folder.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), Error> {
        let path = self.staging.join(name);
        fs::write(&path, contents).map_err(io_error(&self.target.join(name)))
    }

    /// Makes a subfolder.
    pub fn create_dir(&self, name: &str) -> Result<(), Error> {
        let path = self.staging.join(name);
        fs::create_dir_all(&path).map_err(io_error(&self.target.join(name)))
    }

    /// Where a file named `name` is being written, for writers that take a path.
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Replaces the target folder with what was written.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        let previous = sibling(&self.target, "previous");
        let had_previous = self.target.exists();
        if had_previous {
            fs::rename(&self.target, &previous).map_err(io_error(&self.target))?;
        }
        if let Err(source) = fs::rename(&self.staging, &self.target) {
            if had_previous {
                // Put the old results back before reporting the failure.
                let _ = fs::rename(&previous, &self.target);
            }
            return Err(Error::Output {
                path: self.target.clone(),
                source,
            });
        }
        self.committed = true;
        if had_previous {
            fs::remove_dir_all(&previous).map_err(io_error(&previous))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_abandon_keeps_the_old_folder() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let first = OutputDir::create(&target).unwrap();
        first.write("a.txt", b"one").unwrap();
        first.commit().unwrap();
        assert_eq!(fs::read(target.join("a.txt")).unwrap(), b"one");

        let abandoned = OutputDir::create(&target).unwrap();
        abandoned.write("a.txt", b"two").unwrap();
        drop(abandoned);
        assert_eq!(fs::read(target.join("a.txt")).unwrap(), b"one");

        let second = OutputDir::create(&target).unwrap();
        second.write("b.txt", b"three").unwrap();
        second.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"three");
        let leftovers = fs::read_dir(root.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no staging or previous folder is left behind");
    }
}
