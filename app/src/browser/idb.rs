//! A small key-value store over the browser's IndexedDB: one database with
//! one object store, values that are JS objects (which may hold Blobs, kept
//! by the browser on disk). Every write resolves only once its transaction
//! has completed, so what follows a write can rely on it being stored.

use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;

/// One database (`name`) holding one object store (`store`), keys out of line.
#[derive(Clone, Copy)]
pub struct Store {
    pub database: &'static str,
    pub store: &'static str,
}

const NO_IDB: &str =
    "This browser does not let fxe keep files (IndexedDB is off or blocked). Allow site data for this relay.";

/// Waits for `request` to succeed; its result.
async fn done(request: &web_sys::IdbRequest) -> Result<JsValue, String> {
    let settled = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(settled).await.map_err(|_| refused(request))?;
    request.result().map_err(|_| refused(request))
}

fn refused(request: &web_sys::IdbRequest) -> String {
    let why = request.error().ok().flatten().map(|e| e.message()).unwrap_or_default();
    format!(
        "The browser refused to keep or read the file ({why}). Check that this site may store data (and that the disk is not full)."
    )
}

/// Waits for `tx` to complete (its writes are stored).
async fn committed(tx: &web_sys::IdbTransaction) -> Result<(), String> {
    let settled = js_sys::Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    JsFuture::from(settled).await.map(|_| ()).map_err(|_| {
        let why = tx.error().map(|e| e.message()).unwrap_or_default();
        format!(
            "The browser did not keep the file ({why}). Check that this site may store data and the disk is not full."
        )
    })
}

impl Store {
    async fn open(self) -> Result<web_sys::IdbDatabase, String> {
        let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).ok_or(NO_IDB)?;
        let request = factory.open_with_u32(self.database, 1).map_err(|_| NO_IDB.to_string())?;
        let store = self.store;
        let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let db = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::IdbOpenDbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<web_sys::IdbDatabase>().ok());
            if let Some(db) = db
                && !db.object_store_names().contains(store)
            {
                let _ = db.create_object_store(store);
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = done(&request).await?;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        db.dyn_into::<web_sys::IdbDatabase>().map_err(|_| NO_IDB.to_string())
    }

    async fn object_store(
        self, mode: web_sys::IdbTransactionMode,
    ) -> Result<(web_sys::IdbDatabase, web_sys::IdbTransaction, web_sys::IdbObjectStore), String> {
        let db = self.open().await?;
        let tx = db.transaction_with_str_and_mode(self.store, mode).map_err(|_| NO_IDB.to_string())?;
        let store = tx.object_store(self.store).map_err(|_| NO_IDB.to_string())?;
        Ok((db, tx, store))
    }

    /// Stores `value` under `key`; resolves once it is on disk.
    pub async fn put(self, key: &str, value: &JsValue) -> Result<(), String> {
        let (db, tx, store) = self.object_store(web_sys::IdbTransactionMode::Readwrite).await?;
        let request = store.put_with_key(value, &JsValue::from_str(key)).map_err(|e| format!("{e:?}"))?;
        done(&request).await?;
        committed(&tx).await?;
        db.close();
        Ok(())
    }

    /// The value under `key`, if any.
    pub async fn get(self, key: &str) -> Result<Option<JsValue>, String> {
        let (db, _tx, store) = self.object_store(web_sys::IdbTransactionMode::Readonly).await?;
        let request = store.get(&JsValue::from_str(key)).map_err(|_| NO_IDB.to_string())?;
        let value = done(&request).await?;
        db.close();
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Every key with its value.
    pub async fn all(self) -> Result<Vec<(String, JsValue)>, String> {
        let (db, _tx, store) = self.object_store(web_sys::IdbTransactionMode::Readonly).await?;
        let keys = done(&store.get_all_keys().map_err(|_| NO_IDB.to_string())?).await?;
        let values = done(&store.get_all().map_err(|_| NO_IDB.to_string())?).await?;
        db.close();
        let (keys, values) = (js_sys::Array::from(&keys), js_sys::Array::from(&values));
        Ok(keys.iter().zip(values.iter()).filter_map(|(k, v)| k.as_string().map(|k| (k, v))).collect())
    }

    /// Removes the values under `keys`; resolves once they are gone.
    pub async fn delete(self, keys: &[String]) -> Result<(), String> {
        let (db, tx, store) = self.object_store(web_sys::IdbTransactionMode::Readwrite).await?;
        for key in keys {
            store.delete(&JsValue::from_str(key)).map_err(|_| NO_IDB.to_string())?;
        }
        committed(&tx).await?;
        db.close();
        Ok(())
    }
}
