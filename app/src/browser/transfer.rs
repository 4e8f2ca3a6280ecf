//! Moving ciphertext: an upload with real progress that can be cancelled
//! (`XMLHttpRequest`, whose upload reports bytes sent), and a download read
//! piece by piece as it arrives (`fetch` with a stream reader), so neither
//! side needs the whole file in one buffer.

use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;

use super::http::{self, API, ApiFailure};

/// An upload under way; [`Upload::cancel`] stops it.
#[derive(Clone)]
pub struct Upload {
    xhr: web_sys::XmlHttpRequest,
    cancelled: Rc<RefCell<bool>>,
}

impl Upload {
    /// Stops the upload; its [`Upload::finish`] answers `cancelled`.
    pub fn cancel(&self) {
        *self.cancelled.borrow_mut() = true;
        let _ = self.xhr.abort();
    }
}

/// Starts `PUT {path}` with `blob` as the body; `progress(sent, total)` is
/// called as bytes leave. Await [`finish`] for the answer.
pub fn put(
    path: &str, blob: &web_sys::Blob, progress: impl Fn(f64, f64) + 'static,
) -> Result<(Upload, UploadDone), ApiFailure> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| ApiFailure::unreachable())?;
    xhr.open_with_async("PUT", &format!("{API}{path}"), true).map_err(|_| ApiFailure::unreachable())?;
    let _ = xhr.set_request_header("Content-Type", "application/octet-stream");
    let _ = xhr.set_request_header("Accept", "application/json");
    let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        progress(e.loaded(), e.total())
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // The request's end (load, error or abort) settles one promise.
    let settled = js_sys::Promise::new(&mut |resolve, _reject| {
        xhr.set_onloadend(Some(&resolve));
    });
    xhr.send_with_opt_blob(Some(blob)).map_err(|_| ApiFailure::unreachable())?;
    let upload = Upload { xhr: xhr.clone(), cancelled: Rc::new(RefCell::new(false)) };
    Ok((upload.clone(), UploadDone { upload, settled, _progress: on_progress }))
}

/// The end of an upload started by [`put`].
pub struct UploadDone {
    upload: Upload,
    settled: js_sys::Promise,
    _progress: Closure<dyn FnMut(web_sys::ProgressEvent)>,
}

impl UploadDone {
    /// The relay's JSON answer, or why there is none.
    pub async fn finish<T: DeserializeOwned>(self) -> Result<T, ApiFailure> {
        let _ = JsFuture::from(self.settled).await;
        // An answer counts even if Cancel came too late to stop the upload:
        // the fax may have been delivered, and the page must say so.
        let status = self.upload.xhr.status().unwrap_or(0);
        if status == 0 && *self.upload.cancelled.borrow() {
            return Err(ApiFailure::local("cancelled", "Cancelled."));
        }
        if status == 0 {
            return Err(ApiFailure::local(
                "network",
                "The upload was interrupted: the relay could not be reached. Try again.",
            ));
        }
        let text = self.upload.xhr.response_text().ok().flatten().unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(http::failure(status, &text));
        }
        http::parse(status, &text)
    }
}

/// A download read as it arrives.
pub struct Download {
    reader: web_sys::ReadableStreamDefaultReader,
}

impl Download {
    /// `GET {path}`; fails on an error answer before any byte is read.
    pub async fn start(path: &str) -> Result<Download, ApiFailure> {
        let response = http::respond("GET", path, None).await?;
        if !response.ok() {
            let text = http::text(&response).await;
            return Err(http::failure(response.status(), &text));
        }
        let body = response.body().ok_or_else(|| ApiFailure::local("network", "The relay sent no content."))?;
        let reader = body
            .get_reader()
            .dyn_into::<web_sys::ReadableStreamDefaultReader>()
            .map_err(|_| ApiFailure::unreachable())?;
        Ok(Download { reader })
    }

    /// The next piece, `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiFailure> {
        let interrupted = |_| ApiFailure::local("network", "The download was interrupted. Try again.");
        let step = JsFuture::from(self.reader.read()).await.map_err(interrupted)?;
        let done = js_sys::Reflect::get(&step, &JsValue::from_str("done")).map_err(interrupted)?;
        if done.as_bool().unwrap_or(true) {
            return Ok(None);
        }
        let value = js_sys::Reflect::get(&step, &JsValue::from_str("value")).map_err(interrupted)?;
        Ok(Some(js_sys::Uint8Array::new(&value).to_vec()))
    }

    /// Stops reading (the rest is not fetched).
    pub fn cancel(&self) {
        let _ = self.reader.cancel();
    }
}

/// A Blob of `parts` (each a copy of bytes handed to the browser), typed `mime`.
pub fn blob(parts: &js_sys::Array, mime: &str) -> Result<web_sys::Blob, String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &options)
        .map_err(|_| "The browser could not hold the file.".to_string())
}

/// The bytes `[start, end)` of a file the person chose.
pub async fn slice(file: &web_sys::Blob, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let fail = |_| "The browser could not read that file (was it moved or deleted?).".to_string();
    let part = file.slice_with_f64_and_f64(crate::number::float(start), crate::number::float(end)).map_err(fail)?;
    let buffer = JsFuture::from(part.array_buffer()).await.map_err(fail)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}
