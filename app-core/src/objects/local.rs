//! The local object store: `ROOT/BUCKET/KEY` on disk, so an import runs from a file with no AWS (a
//! demo, a check of a file before it is uploaded).

use std::io::ErrorKind;
use std::path::PathBuf;

use async_trait::async_trait;
use tokio::io::BufReader;

use super::{ObjectError, ObjectLocation, ObjectReader, ObjectStore};

/// Objects as files under a root folder: bucket `b`, key `imports/a.jsonl` is `ROOT/b/imports/a.jsonl`.
#[derive(Debug, Clone)]
pub struct LocalObjectStore {
    root: PathBuf,
}

impl LocalObjectStore {
    /// A store under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file that holds `location`. A key whose segments are empty, `.` or `..` has no file: it
    /// would name another object or leave the root.
    pub fn path_of(&self, location: &ObjectLocation) -> Result<PathBuf, ObjectError> {
        let plain = location
            .key()
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."));
        if !plain {
            return Err(ObjectError::Failed(format!(
                "{location}: the key has no file in a local object store"
            )));
        }
        Ok(self.root.join(location.bucket()).join(location.key()))
    }
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    async fn open(&self, location: &ObjectLocation) -> Result<Option<ObjectReader>, ObjectError> {
        let path = self.path_of(location)?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Some(Box::pin(BufReader::new(file)))),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(ObjectError::Failed(format!("{}: {err}", path.display()))),
        }
    }

    async fn put_json(&self, location: &ObjectLocation, json: Vec<u8>) -> Result<(), ObjectError> {
        let path = self.path_of(location)?;
        let failed =
            |err: std::io::Error| ObjectError::Failed(format!("{}: {err}", path.display()));
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(failed)?;
        }
        tokio::fs::write(&path, json).await.map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn a_written_object_reads_back_and_a_missing_one_is_none() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalObjectStore::new(root.path());
        let location = ObjectLocation::new("bkt", "reports/imports/a b+ü.jsonl.json").unwrap();

        store.put_json(&location, b"{}".to_vec()).await.unwrap();
        let mut text = String::new();
        store
            .open(&location)
            .await
            .unwrap()
            .unwrap()
            .read_to_string(&mut text)
            .await
            .unwrap();

        assert_eq!(text, "{}");
        assert!(
            root.path()
                .join("bkt/reports/imports/a b+ü.jsonl.json")
                .is_file()
        );
        let missing = ObjectLocation::new("bkt", "imports/none.jsonl").unwrap();
        assert!(store.open(&missing).await.unwrap().is_none());
    }

    #[test]
    fn a_key_that_would_leave_the_root_or_alias_another_has_no_file() {
        let store = LocalObjectStore::new("/srv/objects");
        for key in [
            "imports/../../etc/passwd",
            "/etc/passwd",
            "imports//a",
            "imports/./a",
            "imports/",
        ] {
            let location = ObjectLocation::new("bkt", key).unwrap();
            assert!(store.path_of(&location).is_err(), "{key}");
        }
    }
}
