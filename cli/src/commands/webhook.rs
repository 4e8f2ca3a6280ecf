//! `webhook verify`: check a delivery by hand, as an integrator's endpoint would.

use super::Ctx;
use crate::cli::WebhookCommand;
use crate::error::{CliError, Result, exit, io_err};
use fxe_protocol::webhook::{self, WebhookSecret};
use serde_json::json;
use std::collections::HashMap;

pub fn run(ctx: &Ctx, c: WebhookCommand) -> Result<i32> {
    let WebhookCommand::Verify { secret, headers, body_file, tolerance } = c;
    let secret =
        WebhookSecret::parse(&secret).map_err(|e| CliError::new(exit::USAGE, "invalid_secret", e.to_string()))?;
    let mut h: HashMap<String, String> = HashMap::new();
    for line in &headers {
        let (k, v) = line.split_once(':').ok_or_else(|| {
            CliError::new(exit::USAGE, "invalid_header", format!("--header {line:?} is not 'Name: value'"))
        })?;
        h.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let body = std::fs::read(&body_file).map_err(io_err(format!("cannot read {}", body_file.display())))?;
    let now = crate::now();
    let get = |name: &str| h.get(name).map(String::as_str);
    let (scheme, result) = if let (Some(sig), Some(ts)) = (get("x-fxe-signature"), get("x-fxe-timestamp")) {
        ("X-FXE-Signature", webhook::verify_fxe(&secret, ts, sig, &body, now, tolerance))
    } else if let (Some(sig), Some(ts), Some(id)) =
        (get("webhook-signature"), get("webhook-timestamp"), get("webhook-id"))
    {
        ("Standard Webhooks", webhook::verify_standard(&secret, id, ts, sig, &body, now, tolerance))
    } else {
        return Err(CliError::new(
            exit::USAGE,
            "missing_headers",
            "give X-FXE-Timestamp and X-FXE-Signature, or webhook-id, webhook-timestamp and webhook-signature, with --header",
        ));
    };
    match result {
        Ok(()) => {
            ctx.out.result(
                &json!({"valid": true, "scheme": scheme, "event_id": get("x-fxe-event-id").or(get("webhook-id"))}),
                || format!("valid: the {scheme} signature verifies"),
            );
            Ok(exit::OK)
        }
        Err(e) => Err(CliError::new(exit::ERROR, "invalid_signature", format!("the webhook does not verify: {e}"))),
    }
}
