//! The local-folder backend: objects are files under `objects/`, staged in
//! `tmp/` and renamed into place, every step fsynced; each relay instance
//! holds a lock file so a second one on the same folder is detected.

use super::*;

/// The blob store on the local file system.
///
/// Several relays may share one store (PostgreSQL deployments). Each holds an
/// exclusive OS lock on `tmp/<instance>.lock` for as long as it runs and names
/// its temporary files `<instance>-<random>.part`; the kernel releases the lock
/// when a process dies, even by SIGKILL, so [`LocalBlobStore::sweep_orphans`]
/// can tell a dead relay's partial uploads from a live one's, exactly.
#[derive(Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
    instance: String,
    /// The held lock; replaced if someone deletes the lock file.
    lock: std::sync::Arc<std::sync::Mutex<std::fs::File>>,
}

const LOCK_SUFFIX: &str = ".lock";

const TEMP_DIR: &str = "tmp";
const OBJECTS_DIR: &str = "objects";
const TEMP_SUFFIX: &str = ".part";
const STORE_ID_FILE: &str = "store-id";

impl LocalBlobStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        for dir in [root.clone(), root.join(TEMP_DIR), root.join(OBJECTS_DIR)] {
            create_private_dir(&dir).await?;
        }
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let lock_path = root.join(TEMP_DIR).join(format!("{instance}{LOCK_SUFFIX}"));
        let lock = tokio::task::spawn_blocking(move || take_lock(&lock_path)).await.map_err(io::Error::other)??;
        Ok(LocalBlobStore { root, instance, lock: std::sync::Arc::new(std::sync::Mutex::new(lock)) })
    }

    /// The folder's identity: a random id written into `store-id` the first time (fsynced,
    /// renamed into place), read afterwards. The database records which folder holds its
    /// ciphertext by this id ([`crate::cluster::check_blob_folder`]), so a relay given another
    /// folder for the same database refuses to start instead of losing every fax.
    pub async fn store_id(&self) -> Result<String, BlobError> {
        let path = self.root.join(STORE_ID_FILE);
        match tokio::fs::read_to_string(&path).await {
            Ok(id) => return Ok(id.trim().to_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let tmp = self.root.join(TEMP_DIR).join(format!("{}-store-id{TEMP_SUFFIX}", self.instance));
        let mut f = open_new_private(&tmp).await?;
        f.write_all(id.as_bytes()).await?;
        f.sync_all().await?;
        drop(f);
        // Two relays starting at once on a new folder: the first rename wins for both.
        if tokio::fs::try_exists(&path).await? {
            let _ = tokio::fs::remove_file(&tmp).await;
        } else {
            tokio::fs::rename(&tmp, &path).await?;
            let root = self.root.clone();
            tokio::task::spawn_blocking(move || sync_dir(&root)).await.map_err(io::Error::other)??;
        }
        Ok(tokio::fs::read_to_string(&path).await?.trim().to_owned())
    }

    /// Removes the partial uploads of relays that are no longer running (their
    /// lock is free), with their lock files. Returns how many files went.
    pub async fn sweep_orphans(&self) -> Result<usize, BlobError> {
        let dir = self.root.join(TEMP_DIR);
        let ours = self.instance.clone();
        let held = self.lock.clone();
        let removed = tokio::task::spawn_blocking(move || -> io::Result<usize> {
            // This relay is alive whatever the disk says; if its lock file was
            // deleted, lock a new one so other relays keep seeing it alive.
            let own_lock = dir.join(format!("{ours}{LOCK_SUFFIX}"));
            if !own_lock.exists()
                && let Ok(file) = take_lock(&own_lock)
                && let Ok(mut guard) = held.lock()
            {
                *guard = file;
            }
            let mut live = std::collections::HashSet::from([ours.clone()]);
            let mut dead_locks = Vec::new();
            let names: Vec<String> =
                std::fs::read_dir(&dir)?.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
            for name in &names {
                let Some(inst) = name.strip_suffix(LOCK_SUFFIX) else { continue };
                if inst == ours {
                    live.insert(inst.to_owned());
                    continue;
                }
                let Ok(file) = std::fs::OpenOptions::new().write(true).open(dir.join(name)) else { continue };
                match file.try_lock() {
                    Ok(()) => dead_locks.push(name.clone()),
                    Err(_) => {
                        live.insert(inst.to_owned());
                    }
                }
            }
            let mut removed = 0;
            for name in &names {
                let Some(stem) = name.strip_suffix(TEMP_SUFFIX) else { continue };
                let owner = stem.split_once('-').map(|(i, _)| i);
                // Files of a live relay stay; files named before instances existed are left to the age-based sweep.
                match owner {
                    Some(i) if !live.contains(i) && std::fs::remove_file(dir.join(name)).is_ok() => {
                        removed += 1;
                    }
                    _ => {}
                }
            }
            for name in dead_locks {
                let _ = std::fs::remove_file(dir.join(name));
            }
            Ok(removed)
        })
        .await
        .map_err(io::Error::other)??;
        Ok(removed)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn temp_path(&self, id: &TempId) -> PathBuf {
        self.root.join(TEMP_DIR).join(format!("{}{TEMP_SUFFIX}", id.as_str()))
    }

    fn object_dir(&self, key: &BlobKey) -> PathBuf {
        let shard = key.as_str().get(..2).unwrap_or(key.as_str());
        self.root.join(OBJECTS_DIR).join(shard)
    }

    fn object_path(&self, key: &BlobKey) -> PathBuf {
        self.object_dir(key).join(key.as_str())
    }
}

/// Creates `path` and takes an exclusive lock on it, held while the file stays open.
fn take_lock(path: &Path) -> io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    file.try_lock().map_err(|e| io::Error::other(format!("cannot lock {}: {e}", path.display())))?;
    Ok(file)
}

fn new_temp_id(instance: &str) -> TempId {
    TempId(format!("{instance}-{}", uuid::Uuid::new_v4().simple()))
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn stage(&self, mut body: ByteStream, max_len: u64) -> Result<StagedBlob, BlobError> {
        let id = new_temp_id(&self.instance);
        let path = self.temp_path(&id);
        let mut file = open_new_private(&path).await?;
        // From here on, any early return or cancellation deletes the file.
        let guard = RemoveOnDrop(Some(path.clone()));

        let mut meter = Metered::new(max_len);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(BlobError::Body)?;
            meter.take(&chunk)?;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);

        let (len, sha256) = meter.finish();
        let discard_path = guard.disarm();
        Ok(StagedBlob::new(
            id,
            len,
            sha256,
            Box::new(move || {
                if let Some(path) = discard_path {
                    remove_quietly(&path);
                }
            }),
        ))
    }

    async fn publish(&self, mut staged: StagedBlob, key: &BlobKey) -> Result<(), BlobError> {
        let temp = self.temp_path(staged.temp_id());
        let dir = self.object_dir(key);
        let dest = self.object_path(key);
        create_private_dir(&dir).await?;
        // A hard link fails if `dest` exists, so a published blob is never
        // replaced, and it appears complete or not at all. Then the temporary
        // name goes, and the directory entry is synced.
        let linked = tokio::task::spawn_blocking(move || std::fs::hard_link(&temp, &dest).map(|()| temp))
            .await
            .map_err(io::Error::other)?;
        match linked {
            Ok(temp) => {
                staged.disarm();
                remove_quietly(&temp);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(BlobError::AlreadyExists),
            Err(e) => return Err(e.into()),
        }
        tokio::task::spawn_blocking(move || sync_dir(&dir)).await.map_err(io::Error::other)??;
        Ok(())
    }

    async fn open(&self, key: &BlobKey, range: ByteRange) -> Result<BlobRead, BlobError> {
        let mut file = match tokio::fs::File::open(self.object_path(key)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let total_len = file.metadata().await?.len();
        let range = range.resolve(total_len).ok_or(BlobError::RangeNotSatisfiable { len: total_len })?;
        if range.start > 0 {
            file.seek(io::SeekFrom::Start(range.start)).await?;
        }
        let reader = file.take(range.end - range.start);
        Ok(BlobRead { total_len, range, body: Box::pin(ReaderStream::with_capacity(reader, READ_CHUNK)) })
    }

    async fn len(&self, key: &BlobKey) -> Result<u64, BlobError> {
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        remove_file_if_exists(&self.object_path(key)).await
    }

    async fn list_temp(&self) -> Result<Vec<TempBlob>, BlobError> {
        let mut entries = tokio::fs::read_dir(self.root.join(TEMP_DIR)).await?;
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(TEMP_SUFFIX)).and_then(|n| TempId::new(n).ok())
            else {
                continue;
            };
            let meta = match entry.metadata().await {
                Ok(meta) => meta,
                // Removed between listing and stat: an upload just finished.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if meta.is_file() {
                found.push(TempBlob { id, len: meta.len(), modified: meta.modified()? });
            }
        }
        Ok(found)
    }

    async fn remove_temp(&self, id: &TempId) -> Result<bool, BlobError> {
        remove_file_if_exists(&self.temp_path(id)).await
    }

    async fn sweep_orphans(&self) -> Result<usize, BlobError> {
        LocalBlobStore::sweep_orphans(self).await
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    async fn instance_alive(&self, id: &str) -> bool {
        if id == self.instance {
            return true;
        }
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let path = self.root.join(TEMP_DIR).join(format!("{id}{LOCK_SUFFIX}"));
        tokio::task::spawn_blocking(move || match std::fs::OpenOptions::new().write(true).open(&path) {
            // Acquired (and released on drop): nobody holds it.
            Ok(file) => file.try_lock().is_err(),
            Err(_) => false,
        })
        .await
        .unwrap_or(true)
    }

    async fn check_writable(&self) -> Result<(), BlobError> {
        let path = self.temp_path(&new_temp_id(&self.instance));
        let mut file = open_new_private(&path).await?;
        let guard = RemoveOnDrop(Some(path.clone()));
        file.write_all(b"readyz").await?;
        file.sync_all().await?;
        drop(file);
        drop(guard.disarm());
        tokio::fs::remove_file(&path).await?;
        Ok(())
    }
}

/// Deletes a file when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) -> Option<PathBuf> {
        self.0.take()
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            remove_quietly(&path);
        }
    }
}

/// Best-effort removal (a leftover is swept later).
fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove a temporary blob");
    }
}

async fn remove_file_if_exists(path: &Path) -> Result<bool, BlobError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Creates a directory (and its parents) readable by the owner only, leaving
/// existing ones as they are.
pub async fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).await
}

async fn open_new_private(path: &Path) -> io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: &[&'static [u8]]) -> ByteStream {
        let items: Vec<io::Result<Bytes>> = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn read_all(read: BlobRead) -> Vec<u8> {
        let mut out = Vec::new();
        let mut body = read.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    async fn store() -> (tempfile::TempDir, LocalBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path().join("blobs")).await.unwrap();
        (dir, store)
    }

    fn key(s: &str) -> BlobKey {
        BlobKey::new(s).unwrap()
    }

    #[test]
    fn keys_are_safe_file_names() {
        for good in ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "x_y", &"a".repeat(128)] {
            assert!(BlobKey::new(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "A", "a.b", "a b", &"a".repeat(129), "é"] {
            assert!(BlobKey::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_resolve_like_http() {
        assert_eq!(ByteRange::Full.resolve(10), Some(0..10));
        assert_eq!(ByteRange::Full.resolve(0), Some(0..0));
        assert_eq!(ByteRange::From(3).resolve(10), Some(3..10));
        assert_eq!(ByteRange::From(10).resolve(10), None);
        assert_eq!(ByteRange::Inclusive(0, 0).resolve(10), Some(0..1));
        assert_eq!(ByteRange::Inclusive(2, 100).resolve(10), Some(2..10));
        assert_eq!(ByteRange::Inclusive(5, 4).resolve(10), None);
        assert_eq!(ByteRange::Inclusive(0, u64::MAX).resolve(10), Some(0..10));
        assert_eq!(ByteRange::Suffix(3).resolve(10), Some(7..10));
        assert_eq!(ByteRange::Suffix(30).resolve(10), Some(0..10));
        assert_eq!(ByteRange::Suffix(0).resolve(10), None);
        assert_eq!(ByteRange::Suffix(5).resolve(0), None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn stage_publish_read_delete() {
        let (_dir, store) = store().await;
        let k = key("0f8fad5b-d9cb-469f-a165-70867728950e");

        let staged = store.stage(body(&[b"hello ", b"world"]), 1024).await.unwrap();
        assert_eq!(staged.len(), 11);
        assert_eq!(hex::encode(staged.sha256()), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert_eq!(store.list_temp().await.unwrap().len(), 1);
        assert!(matches!(store.open(&k, ByteRange::Full).await, Err(BlobError::NotFound)));

        store.publish(staged, &k).await.unwrap();
        assert!(store.list_temp().await.unwrap().is_empty());
        assert_eq!(store.len(&k).await.unwrap(), 11);

        let whole = store.open(&k, ByteRange::Full).await.unwrap();
        assert_eq!((whole.total_len, whole.range.clone()), (11, 0..11));
        assert_eq!(read_all(whole).await, b"hello world");
        let part = store.open(&k, ByteRange::Inclusive(6, 7)).await.unwrap();
        assert_eq!(read_all(part).await, b"wo");
        let tail = store.open(&k, ByteRange::Suffix(3)).await.unwrap();
        assert_eq!(read_all(tail).await, b"rld");
        assert!(matches!(store.open(&k, ByteRange::From(11)).await, Err(BlobError::RangeNotSatisfiable { len: 11 })));

        assert!(store.delete(&k).await.unwrap());
        assert!(!store.delete(&k).await.unwrap());
        assert!(matches!(store.len(&k).await, Err(BlobError::NotFound)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn published_blobs_are_never_replaced() {
        let (_dir, store) = store().await;
        let k = key("ab");
        store.put(&k, body(&[b"first"]), 100).await.unwrap();
        let second = store.stage(body(&[b"second"]), 100).await.unwrap();
        assert!(matches!(store.publish(second, &k).await, Err(BlobError::AlreadyExists)));
        assert!(store.list_temp().await.unwrap().is_empty(), "the rejected copy is discarded");
        assert_eq!(read_all(store.open(&k, ByteRange::Full).await.unwrap()).await, b"first");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn failures_leave_nothing_behind() {
        let (_dir, store) = store().await;

        let too_big = store.stage(body(&[b"12345", b"67890"]), 9).await;
        assert!(matches!(too_big, Err(BlobError::TooLarge { max: 9 })));

        let broken: ByteStream = Box::pin(futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"partial")),
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away")),
        ]));
        assert!(matches!(store.stage(broken, 100).await, Err(BlobError::Body(_))));

        let dropped = store.stage(body(&[b"never published"]), 100).await.unwrap();
        drop(dropped);

        // A body that never ends, abandoned mid-way (the request is cancelled).
        let endless: ByteStream = Box::pin(
            futures_util::stream::iter(vec![Ok(Bytes::from_static(b"x"))]).chain(futures_util::stream::pending()),
        );
        let cancelled = tokio::time::timeout(Duration::from_millis(50), store.stage(endless, 100)).await;
        assert!(cancelled.is_err());

        assert!(store.list_temp().await.unwrap().is_empty());
        // Exactly at the limit is fine, and empty bodies are allowed.
        assert_eq!(store.stage(body(&[b"123456789"]), 9).await.unwrap().len(), 9);
        assert!(store.stage(body(&[]), 9).await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sweep_removes_only_old_temporaries() {
        let (_dir, store) = store().await;
        let leftover = store.stage(body(&[b"crash leftover"]), 100).await.unwrap();
        // Simulate a crash: the process died before publish or drop.
        std::mem::forget(leftover);
        // A stray file that is not ours is left alone.
        std::fs::write(store.root().join(TEMP_DIR).join("README"), b"x").unwrap();

        assert_eq!(store.sweep_temp(Duration::from_secs(3600)).await.unwrap(), 0);
        assert_eq!(store.list_temp().await.unwrap().len(), 1);
        assert_eq!(store.sweep_temp(Duration::ZERO).await.unwrap(), 1);
        assert!(store.list_temp().await.unwrap().is_empty());
        assert!(store.root().join(TEMP_DIR).join("README").exists());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writable_check_cleans_up() {
        let (_dir, store) = store().await;
        store.check_writable().await.unwrap();
        assert!(store.list_temp().await.unwrap().is_empty());
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread")]
    async fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, store) = store().await;
        let k = key("private");
        store.put(&k, body(&[b"secret"]), 100).await.unwrap();
        let mode = std::fs::metadata(store.object_path(&k)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        let mode = std::fs::metadata(store.root()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
}
