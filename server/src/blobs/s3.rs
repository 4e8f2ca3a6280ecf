//! The S3 backend (`--blob-store s3://bucket/prefix`), for several relay
//! instances sharing one object store.
//!
//! Layout under the prefix: `tmp/<instance>-<random>` while staging,
//! `objects/<key>` once published. A body streams in as a multipart upload
//! (parts of [`PART_SIZE`], at most [`PARTS_IN_FLIGHT`] uploading at once, so
//! memory stays bounded whatever the body's size); bodies smaller than one part
//! are a single PUT. A multipart upload is invisible until completed, so a cut
//! off upload shows nothing; it is aborted when the stage fails or is dropped.
//! A relay killed mid-upload cannot abort: configure the bucket's lifecycle rule
//! `AbortIncompleteMultipartUpload` (one day is plenty) to reclaim those parts.
//!
//! Publishing is a server-side copy from the temporary key to the final key,
//! then the temporary key is deleted. S3 has no atomic no-clobber rename, and
//! some S3 servers ignore `If-None-Match`, so nothing here relies on
//! conditional writes: the message row in the database is the authority. A
//! key is a `message_id`, only the holder of the row's upload lease stages and
//! publishes it, and readers find a blob only through a row that says it is
//! `queued` (written after the publish). [`BlobStore::publish`] still refuses
//! a key that is already there (a leftover of a crash between publish and
//! commit, which the caller deletes).
//!
//! Instances: each process has a random id; its temporary keys start with it.
//! Whether another instance is alive is answered by the database, not by the
//! store: on PostgreSQL each instance holds a presence lock
//! ([`crate::cluster`]), and failing that a running relay renews its upload
//! lease every 30 s and a dead one's lapses within `UPLOAD_LEASE_SECS`. So
//! [`BlobStore::instance_alive`] says "alive" for every id.

use std::{net::IpAddr, sync::Arc};

use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart, aws::AmazonS3Builder,
    path::Path as ObjectPath,
};

use super::*;

/// The region when `AWS_REGION` is not set.
pub const DEFAULT_S3_REGION: &str = "us-east-1";
/// Size of a multipart part (S3's minimum for all parts but the last).
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Parts uploading at once; with the part being filled, memory per upload is
/// about `(PARTS_IN_FLIGHT + 1) * PART_SIZE`.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Temporary objects older than this are orphans: no upload stages for longer
/// than its window (`messages::UPLOAD_WINDOW_SECS`).
const ORPHAN_AGE: Duration = Duration::from_secs(crate::messages::UPLOAD_WINDOW_SECS.unsigned_abs());

const TEMP_DIR: &str = "tmp";
const OBJECTS_DIR: &str = "objects";

/// Where the S3 store is and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; may be empty.
    pub prefix: String,
    /// `None`: AWS's own endpoint for the region.
    pub endpoint: Option<String>,
    pub region: String,
}

impl S3Settings {
    /// Parses `s3://bucket/prefix` and checks the endpoint: https, or http
    /// to a loopback address.
    pub fn parse(url: &str, endpoint: Option<&str>, region: &str) -> Result<S3Settings, String> {
        let rest = url
            .trim()
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url:?}: expected s3://bucket/prefix (or leave it out for the local folder)"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'));
        if !bucket_ok {
            return Err(format!("{bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '-', '.')"));
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.split('/').all(|seg| {
            prefix.is_empty()
                || (!seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        });
        if !prefix_ok {
            return Err(format!("prefix {prefix:?}: use segments of A-Z, a-z, 0-9, '-', '_', '.' separated by '/'"));
        }
        let endpoint = match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let parsed = url::Url::parse(e).map_err(|err| format!("FXE_S3_ENDPOINT {e:?}: {err}"))?;
                match parsed.scheme() {
                    "https" => {}
                    "http" if is_loopback(&parsed) => {}
                    "http" => return Err(format!("FXE_S3_ENDPOINT {e:?}: plain http is allowed for loopback only")),
                    other => return Err(format!("FXE_S3_ENDPOINT {e:?}: unsupported scheme {other:?}")),
                }
                Some(e.trim_end_matches('/').to_owned())
            }
        };
        let region = if region.trim().is_empty() { DEFAULT_S3_REGION } else { region.trim() };
        Ok(S3Settings { bucket: bucket.to_owned(), prefix: prefix.to_owned(), endpoint, region: region.to_owned() })
    }

    /// `s3://bucket/prefix` (no credentials: safe to log).
    pub fn describe(&self) -> String {
        let at = self.endpoint.as_deref().map(|e| format!(" at {e}")).unwrap_or_default();
        format!("s3://{}/{}{at}", self.bucket, self.prefix)
    }

    fn allow_http(&self) -> bool {
        self.endpoint.as_deref().and_then(|e| url::Url::parse(e).ok()).is_some_and(|u| is_loopback(&u))
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The blob store in an S3 bucket (see the module documentation).
#[derive(Debug)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    settings: S3Settings,
    instance: String,
}

impl S3BlobStore {
    /// Connects to the bucket (credentials from the AWS variables) and checks
    /// that it can be listed.
    pub async fn open(settings: S3Settings) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(settings.allow_http());
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(store_error)?);
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let this = S3BlobStore { store, settings, instance };
        // Fail at start, not at the first upload, if the bucket is unreachable.
        let temp_prefix = this.dir_path(TEMP_DIR);
        this.store.list_with_delimiter(Some(&temp_prefix)).await.map_err(store_error)?;
        tracing::info!(
            instance = %this.instance,
            host = %std::env::var("HOSTNAME").unwrap_or_default(),
            pid = std::process::id(),
            store = %this.settings.describe(),
            "S3 blob store ready"
        );
        Ok(this)
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    fn dir_path(&self, dir: &str) -> ObjectPath {
        if self.settings.prefix.is_empty() {
            ObjectPath::from(dir)
        } else {
            ObjectPath::from(format!("{}/{dir}", self.settings.prefix))
        }
    }

    fn temp_path(&self, id: &TempId) -> ObjectPath {
        self.dir_path(TEMP_DIR).join(id.as_str())
    }

    fn object_path(&self, key: &BlobKey) -> ObjectPath {
        self.dir_path(OBJECTS_DIR).join(key.as_str())
    }

    fn new_temp_id(&self) -> TempId {
        TempId(format!("{}-{}", self.instance, uuid::Uuid::new_v4().simple()))
    }

    /// Deletes `path`; `Ok(false)` if it was not there.
    async fn delete_path(&self, path: &ObjectPath) -> Result<bool, BlobError> {
        match self.store.head(path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(store_error(e)),
        }
        // S3 deletes are idempotent: a concurrent delete is fine.
        self.store.delete(path).await.map_err(store_error)?;
        Ok(true)
    }

    /// Streams `body` to `path` (one PUT, or a multipart upload kept in
    /// `upload` while it runs); returns the length and SHA-256.
    async fn stream_to(
        &self, path: &ObjectPath, mut body: ByteStream, max_len: u64, upload: &mut AbortOnDrop,
    ) -> Result<(u64, [u8; 32]), BlobError> {
        let mut meter = Metered::new(max_len);
        // The first part is kept until it is full: a small body is one PUT.
        let mut first: Vec<Bytes> = Vec::new();
        let mut first_len = 0usize;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(BlobError::Body)?;
            meter.take(&chunk)?;
            if let Some(writer) = upload.0.as_mut() {
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(store_error)?;
                writer.put(chunk);
                continue;
            }
            first_len += chunk.len();
            first.push(chunk);
            if first_len >= PART_SIZE {
                let multipart = self.store.put_multipart(path).await.map_err(store_error)?;
                let mut writer = WriteMultipart::new_with_chunk_size(multipart, PART_SIZE);
                for chunk in first.drain(..) {
                    writer.put(chunk);
                }
                upload.0 = Some(writer);
            }
        }
        match upload.0.take() {
            Some(writer) => {
                writer.finish().await.map_err(store_error)?;
            }
            None => {
                self.store.put(path, PutPayload::from_iter(first)).await.map_err(store_error)?;
            }
        }
        Ok(meter.finish())
    }

    /// A closure deleting `path` in the background (for drops).
    fn deleter(&self, path: ObjectPath) -> Box<dyn FnOnce() + Send + Sync> {
        let store = self.store.clone();
        Box::new(move || {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = store.delete(&path).await {
                        tracing::warn!(path = %path, error = %e, "could not remove a temporary blob");
                    }
                });
            }
        })
    }
}

/// A multipart upload that is aborted (in the background) if dropped unfinished.
struct AbortOnDrop(Option<WriteMultipart>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = upload.abort().await {
                    tracing::warn!(error = %e, "could not abort a multipart upload");
                }
            });
        }
    }
}

fn store_error(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Io(io::Error::other(other)),
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn stage(&self, body: ByteStream, max_len: u64) -> Result<StagedBlob, BlobError> {
        let id = self.new_temp_id();
        let path = self.temp_path(&id);
        // On an error the parts are aborted here; if the future is dropped, the guard does it.
        let mut upload = AbortOnDrop(None);
        let streamed = self.stream_to(&path, body, max_len, &mut upload).await;
        if streamed.is_err()
            && let Some(writer) = upload.0.take()
            && let Err(e) = writer.abort().await
        {
            tracing::warn!(error = %e, "could not abort a multipart upload");
        }
        let (len, sha256) = streamed?;
        Ok(StagedBlob::new(id, len, sha256, self.deleter(path)))
    }

    async fn publish(&self, mut staged: StagedBlob, key: &BlobKey) -> Result<(), BlobError> {
        let temp = self.temp_path(staged.temp_id());
        let dest = self.object_path(key);
        match self.store.head(&dest).await {
            Ok(_) => return Err(BlobError::AlreadyExists),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error(e)),
        }
        // Server-side copy: the object appears whole or not at all.
        self.store.copy(&temp, &dest).await.map_err(store_error)?;
        staged.disarm();
        if let Err(e) = self.store.delete(&temp).await {
            // Harmless: the sweeper removes it.
            tracing::warn!(path = %temp, error = %e, "could not remove a published temporary blob");
        }
        Ok(())
    }

    async fn open(&self, key: &BlobKey, range: ByteRange) -> Result<BlobRead, BlobError> {
        let path = self.object_path(key);
        let total_len = self.store.head(&path).await.map_err(store_error)?.size;
        let range = range.resolve(total_len).ok_or(BlobError::RangeNotSatisfiable { len: total_len })?;
        if range.is_empty() {
            return Ok(BlobRead { total_len, range, body: Box::pin(futures_util::stream::empty()) });
        }
        let options = GetOptions { range: Some(GetRange::Bounded(range.clone())), ..GetOptions::default() };
        let got = self.store.get_opts(&path, options).await.map_err(store_error)?;
        let body = got.into_stream().map(|chunk| chunk.map_err(io::Error::other));
        Ok(BlobRead { total_len, range, body: Box::pin(body) })
    }

    async fn len(&self, key: &BlobKey) -> Result<u64, BlobError> {
        Ok(self.store.head(&self.object_path(key)).await.map_err(store_error)?.size)
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        self.delete_path(&self.object_path(key)).await
    }

    async fn list_temp(&self) -> Result<Vec<TempBlob>, BlobError> {
        let prefix = self.dir_path(TEMP_DIR);
        let mut listing = self.store.list(Some(&prefix));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(store_error)?;
            let Some(id) = meta.location.filename().and_then(|n| TempId::new(n).ok()) else { continue };
            found.push(TempBlob { id, len: meta.size, modified: meta.last_modified.into() });
        }
        Ok(found)
    }

    async fn remove_temp(&self, id: &TempId) -> Result<bool, BlobError> {
        self.delete_path(&self.temp_path(id)).await
    }

    async fn check_writable(&self) -> Result<(), BlobError> {
        let path = self.temp_path(&self.new_temp_id());
        self.store.put(&path, PutPayload::from_static(b"readyz")).await.map_err(store_error)?;
        self.store.delete(&path).await.map_err(store_error)?;
        Ok(())
    }

    fn instance(&self) -> &str {
        &self.instance
    }

    /// The database lease decides (see the module documentation): an
    /// instance counts as alive until its lease lapses.
    async fn instance_alive(&self, _id: &str) -> bool {
        true
    }

    /// Removes temporary objects older than the upload window: a staged
    /// object lives only between the end of its body and its publish, so an
    /// older one belongs to a relay that died there.
    async fn sweep_orphans(&self) -> Result<usize, BlobError> {
        self.sweep_temp(ORPHAN_AGE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse() {
        let s = S3Settings::parse("s3://fxe-blobs/relay/eu", Some("http://127.0.0.1:7480/"), "").unwrap();
        assert_eq!(
            s,
            S3Settings {
                bucket: "fxe-blobs".into(),
                prefix: "relay/eu".into(),
                endpoint: Some("http://127.0.0.1:7480".into()),
                region: "us-east-1".into(),
            }
        );
        assert!(s.allow_http());
        let bare = S3Settings::parse("s3://bucket", None, "eu-west-1").unwrap();
        assert_eq!((bare.prefix.as_str(), bare.region.as_str(), bare.allow_http()), ("", "eu-west-1", false));
        assert_eq!(S3Settings::parse("s3://bucket/p/", Some("https://s3.example.net"), "x").unwrap().prefix, "p");
        assert!(S3Settings::parse("s3://bucket", Some("http://[::1]:9000"), "x").is_ok());
        assert!(S3Settings::parse("s3://bucket", Some("http://localhost:9000"), "x").is_ok());
        for bad_endpoint in ["http://s3.example.net", "ftp://127.0.0.1", "not a url"] {
            assert!(S3Settings::parse("s3://bucket", Some(bad_endpoint), "x").is_err(), "{bad_endpoint}");
        }
        for bad in [
            "bucket",
            "file:///tmp",
            "s3://",
            "s3://ab",
            "s3://Bucket",
            "s3://b_c/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
        ] {
            assert!(S3Settings::parse(bad, None, "x").is_err(), "{bad}");
        }
    }
}
