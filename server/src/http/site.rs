//! The web UI's built files (the "site": `pkg/fxe.js`, `pkg/fxe.wasm`,
//! `pkg/fxe.css` under the site root) and whether they are the ones this
//! build's pages ask for.
//!
//! Leptos decides the WebAssembly file's name when it is compiled: with
//! `LEPTOS_OUTPUT_NAME` set (cargo-leptos, and `.cargo/config.toml` for plain
//! cargo), pages load `/pkg/<name>.wasm`; without it, `/pkg/<name>_bg.wasm`.
//! A server whose pages ask for a file the site lacks renders pages that
//! never hydrate, so [`check`] refuses it at start-up, saying why.

use std::path::{Path, PathBuf};

use leptos::config::LeptosOptions;

/// `LEPTOS_OUTPUT_NAME` as this crate (and so Leptos, built in the same cargo
/// run with the same environment) was compiled with.
const COMPILED_OUTPUT_NAME: Option<&str> = option_env!("LEPTOS_OUTPUT_NAME");

/// What [`check`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Site {
    /// Every file the pages load is there.
    Ready,
    /// No site at all (the UI was never built): pages render, without styles
    /// or interactivity; the API is unaffected.
    Missing { pkg_dir: PathBuf },
    /// File hashing is on: names come from the hash file, not checked here.
    Hashed,
}

/// The site is there but lacks what this build's pages ask for.
#[derive(Debug, thiserror::Error)]
#[error(
    "the web UI in {pkg_dir} has no {missing}, which this fxe-server's pages load{hint}; \
     build the server and its site together with `cargo leptos build` (or `make build`), \
     or point LEPTOS_SITE_ROOT at the site it was built with",
    pkg_dir = pkg_dir.display(),
)]
pub struct SiteMismatch {
    pub pkg_dir: PathBuf,
    pub missing: String,
    hint: String,
}

/// The file names (within the pkg folder) that the pages of this build load.
pub fn page_files(options: &LeptosOptions) -> [String; 3] {
    let name = &*options.output_name;
    let wasm_suffix = if COMPILED_OUTPUT_NAME.is_some() { "" } else { "_bg" };
    [format!("{name}.js"), format!("{name}{wasm_suffix}.wasm"), format!("{name}.css")]
}

/// Checks the site under `options.site_root` against [`page_files`].
pub fn check(options: &LeptosOptions) -> Result<Site, SiteMismatch> {
    let pkg_dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if options.hash_files {
        return Ok(Site::Hashed);
    }
    if !pkg_dir.is_dir() {
        return Ok(Site::Missing { pkg_dir });
    }
    for file in page_files(options) {
        if !pkg_dir.join(&file).is_file() {
            let hint = if COMPILED_OUTPUT_NAME.is_none() {
                " (it was compiled without LEPTOS_OUTPUT_NAME, outside this workspace's cargo configuration)"
                    .to_string()
            } else if !options.output_name.is_empty() && COMPILED_OUTPUT_NAME != Some(&*options.output_name) {
                format!(" (LEPTOS_OUTPUT_NAME is {:?} at run time)", &*options.output_name)
            } else {
                String::new()
            };
            return Err(SiteMismatch { pkg_dir, missing: file, hint });
        }
    }
    Ok(Site::Ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(root: &Path, output_name: &str) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(output_name)
            .site_root(root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .build()
    }

    #[test]
    fn this_workspace_builds_pages_that_load_the_files_cargo_leptos_makes() {
        // cargo-leptos writes <output-name>.wasm; a plain cargo build must ask for the same.
        assert_eq!(COMPILED_OUTPUT_NAME, Some(app::OUTPUT_NAME), "see .cargo/config.toml");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(page_files(&options(dir.path(), "fxe")), ["fxe.js", "fxe.wasm", "fxe.css"]);
    }

    #[test]
    fn a_complete_site_is_ready_a_missing_one_is_reported_a_foreign_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = options(dir.path(), app::OUTPUT_NAME);
        assert_eq!(check(&opts).unwrap(), Site::Missing { pkg_dir: dir.path().join("pkg") });

        let pkg = dir.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for file in page_files(&opts) {
            std::fs::write(pkg.join(file), b"x").unwrap();
        }
        assert_eq!(check(&opts).unwrap(), Site::Ready);

        // The same site under another output name (or a build that asks for *_bg.wasm): refused, saying which file.
        let err = check(&options(dir.path(), "other")).unwrap_err();
        assert_eq!(err.missing, "other.js");
        let message = err.to_string();
        assert!(message.contains("cargo leptos build") && message.contains("\"other\""), "{message}");

        std::fs::remove_file(pkg.join(format!("{}.wasm", app::OUTPUT_NAME))).unwrap();
        assert_eq!(check(&opts).unwrap_err().missing, format!("{}.wasm", app::OUTPUT_NAME));
    }
}
