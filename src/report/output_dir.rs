//! Writing a results folder all at once: files go into a hidden temporary folder beside the
//! target, which replaces the target only when every file is written. A failure, or an
//! interrupted process, leaves the previous results as they were.
//!
//! A shard's folder is written the same way, but its staging folder outlives the process
//! ([`OutputDir::resumable`]): a shard killed halfway (a batch job pre-empted) leaves the
//! files it finished, each whole ([`OutputDir::write_whole`]), for the next attempt to keep.

use crate::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

/// A results folder being written.
#[derive(Debug)]
pub struct OutputDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
    /// Whether the staging folder stays when the folder is dropped uncommitted.
    resumable: bool,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// A sibling of `target` named `.{name}.{tag}-{pid}`.
fn sibling(target: &Path, tag: &str) -> PathBuf {
    hidden_sibling(target, &format!("{tag}-{}", std::process::id()))
}

/// A sibling of `target` named `.{name}.{tag}`.
fn hidden_sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    target.with_file_name(format!(".{name}.{tag}"))
}

/// Removes the files [`OutputDir::write_whole`] left half-written in `dir` and its
/// subfolders, when a process was killed while writing them.
fn remove_partial_files(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if path.is_dir() {
            remove_partial_files(&path)?;
        } else if name.is_some_and(|n| n.starts_with('.') && n.contains(".partial-")) {
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// Creates the parent folders of `target`.
fn create_parent(target: &Path) -> Result<(), Error> {
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    Ok(())
}

impl OutputDir {
    /// Starts writing the folder `target` (created with its parents on commit).
    pub fn create(target: &Path) -> Result<OutputDir, Error> {
        create_parent(target)?;
        let staging = sibling(target, "partial");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_error(&staging))?;
        }
        fs::create_dir(&staging).map_err(io_error(&staging))?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            committed: false,
            resumable: false,
        })
    }

    /// Starts writing the folder `target` in a staging folder that stays when the process
    /// stops before [`OutputDir::commit`]: [`OutputDir::staging_of`] `target`. With `resume`,
    /// what an earlier attempt left there is kept; else the folder starts empty.
    pub fn resumable(target: &Path, resume: bool) -> Result<OutputDir, Error> {
        create_parent(target)?;
        let staging = OutputDir::staging_of(target);
        if !resume && staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_error(&staging))?;
        }
        fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        remove_partial_files(&staging)?;
        Ok(OutputDir {
            target: target.to_path_buf(),
            staging,
            committed: false,
            resumable: true,
        })
    }

    /// Where a resumable folder `target` is staged: `.{name}.partial` beside it.
    pub fn staging_of(target: &Path) -> PathBuf {
        hidden_sibling(target, "partial")
    }

    /// Writes one file into the folder.
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), Error> {
        let path = self.staging.join(name);
        fs::write(&path, contents).map_err(io_error(&self.target.join(name)))
    }

    /// Writes one file so that it appears whole or not at all, even if the process is killed
    /// while writing: into a hidden file beside it first, then renamed.
    pub fn write_whole(&self, name: &str, contents: &[u8]) -> Result<(), Error> {
        let path = self.staging.join(name);
        let partial = hidden_sibling(&path, &format!("partial-{}", std::process::id()));
        let shown = self.target.join(name);
        fs::write(&partial, contents)
            .and_then(|()| fs::rename(&partial, &path))
            .map_err(io_error(&shown))
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
        if !self.committed && !self.resumable {
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

    #[test]
    fn a_resumable_folder_keeps_what_an_earlier_attempt_finished() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("shard");
        let first = OutputDir::resumable(&target, false).unwrap();
        first.write_whole("a.txt", b"one").unwrap();
        // Killed before its commit, while writing another file.
        fs::write(first.path(".b.txt.partial-1"), b"tw").unwrap();
        drop(first);
        assert!(!target.exists());

        let again = OutputDir::resumable(&target, true).unwrap();
        assert_eq!(
            again.path("a.txt"),
            OutputDir::staging_of(&target).join("a.txt")
        );
        assert_eq!(fs::read(again.path("a.txt")).unwrap(), b"one");
        assert!(
            !again.path(".b.txt.partial-1").exists(),
            "half-written files go"
        );
        again.write_whole("b.txt", b"two").unwrap();
        again.commit().unwrap();
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"two");

        // Without resume, nothing earlier is kept; the finished folder stays until the commit.
        let fresh = OutputDir::resumable(&target, false).unwrap();
        assert!(!fresh.path("a.txt").exists());
        assert!(target.join("a.txt").exists());
        fresh.write_whole("c.txt", b"three").unwrap();
        fresh.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        let names: Vec<String> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["shard"],
            "no staging or partial file is left behind"
        );
    }
}
