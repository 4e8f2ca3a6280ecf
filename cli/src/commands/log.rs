//! `log pin`, `log status`, `log sync` and `monitor`: the org's side of the
//! relay's transparency log (docs/transparency.md §4.1, §5).

use super::Ctx;
use crate::cli::{LogCommand, MonitorArgs};
use crate::error::{CliError, Result, exit};
use crate::http::Relay;
use crate::output;
use crate::transparency::{self, Log};
use fxe_protocol::api::{NumberStatus, Org};
use fxe_protocol::transparency::TrustPolicy;
use fxe_protocol::transparency::monitor::{self, Finding, OwnOrg, Severity};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// A policy as people read it: its fingerprint, the log key's, each witness's.
pub fn describe_policy(p: &TrustPolicy) -> (Value, String) {
    let log_fp = p.log_key().map(|k| k.fingerprint()).unwrap_or_default();
    let witnesses: Vec<Value> = p
        .witness_keys()
        .unwrap_or_default()
        .iter()
        .map(|w| json!({"name": w.name, "vkey": w.vkey(), "fingerprint": w.fingerprint()}))
        .collect();
    let mut text = format!(
        "Log policy fingerprint: {}\n  log {} (key fingerprint {log_fp})\n  quorum {} of {} witnesses, checkpoints at most {} s old",
        p.fingerprint(),
        p.origin().unwrap_or_default(),
        p.quorum,
        p.witnesses.len(),
        p.max_age
    );
    for w in &witnesses {
        text.push_str(&format!(
            "\n  witness {} ({})",
            w["name"].as_str().unwrap_or(""),
            w["fingerprint"].as_str().unwrap_or("")
        ));
    }
    if p.quorum == 0 {
        text.push_str("\n  No witness quorum: forks are caught only by members comparing checkpoints.");
    }
    let json = json!({
        "fingerprint": p.fingerprint(),
        "log": p.log,
        "log_fingerprint": log_fp,
        "witnesses": witnesses,
        "quorum": p.quorum,
        "max_age": p.max_age,
    });
    (json, text)
}

/// Fetches the relay's policy and pins it when `expected` (if given) is its fingerprint.
pub fn pin_offered(relay: &Relay, state_dir: &Path, expected: Option<&str>) -> Result<TrustPolicy> {
    let policy = transparency::offered_policy(relay)?;
    if let Some(want) = expected {
        let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        if norm(want) != norm(&policy.fingerprint()) {
            return Err(CliError::new(
                exit::PIN,
                "log_policy_mismatch",
                format!(
                    "the relay offers a log policy with fingerprint {}, not the {want} you were given",
                    policy.fingerprint()
                ),
            )
            .with_hint("nothing was pinned; ask your relay operator which is right, out of band"));
        }
    }
    transparency::pin(state_dir, &policy)?;
    Ok(policy)
}

pub fn run(ctx: &Ctx, c: LogCommand) -> Result<i32> {
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "send")?;
    let state = ctx.state(&keys);
    match c {
        LogCommand::Pin { fingerprint } => {
            let policy = pin_offered(&relay, &state.dir, Some(&fingerprint))?;
            let (json, text) = describe_policy(&policy);
            ctx.out.result(&json, || format!("Pinned.\n{text}"));
        }
        LogCommand::Status => {
            let Some(log) = Log::load(&state.dir)? else {
                return Err(not_pinned());
            };
            let (mut json, mut text) = describe_policy(&log.policy);
            let cp = log.replica.checkpoint();
            json["size"] = json!(log.replica.size());
            json["checkpoint"] = json!(cp.map(|c| c.note.clone()));
            json["witnessed_at"] = json!(cp.map(|c| c.witnessed_at));
            text.push_str(&format!("\nReplica: {} entries", log.replica.size()));
            if let Some(c) = cp.filter(|c| c.witnessed_at > 0) {
                text.push_str(&format!(", last witnessed {}", output::unix_time(c.witnessed_at)));
            }
            ctx.out.result(&json, || text);
        }
        LogCommand::Sync => {
            let Some(mut log) = Log::load(&state.dir)? else {
                return Err(not_pinned());
            };
            let applied = log.sync(&relay)?;
            let size = log.replica.size();
            ctx.out.result(&json!({"size": size, "new_entries": applied.len()}), || {
                format!("The log has {size} entries ({} new); its checkpoint verified.", applied.len())
            });
        }
    }
    Ok(exit::OK)
}

fn not_pinned() -> CliError {
    CliError::new(exit::USAGE, "log_not_pinned", "this org has not pinned the relay's transparency log policy")
        .with_hint("get the policy fingerprint from your relay operator, then: fxe-client log pin --fingerprint '…'")
}

/// Syncs the replica and reports what is new about this org; exit 4 when anything is an alert.
pub fn monitor(ctx: &Ctx, a: MonitorArgs) -> Result<i32> {
    let keys = ctx.keys()?;
    let relay = ctx.relay(&keys, "receive")?;
    let state = ctx.state(&keys);
    let Some(mut log) = Log::load(&state.dir)? else {
        return Err(not_pinned());
    };
    let org_id = keys.keys.org_id.clone();
    let bundles: Vec<(String, u64)> =
        keys.keys.bundles.iter().map(|b| (b.bundle.bundle_id.clone(), b.bundle.created_at)).collect();
    let own = OwnOrg { org_id: &org_id, bundles: &bundles };
    // The first run reads the whole log: what it finds about this org is reported once.
    let mut alerts = 0usize;
    // With --watch, a withheld bundle or number is reported once, not every round.
    let mut reported = std::collections::HashSet::new();
    loop {
        let org: Org = relay.get("/org")?;
        let mut applied = log.sync(&relay)?;
        let held: Vec<String> =
            org.numbers.iter().filter(|n| n.status == NumberStatus::Active).map(|n| n.number.clone()).collect();
        let mut withheld = monitor::withheld(&own, &held, log.replica.state(), crate::now(), a.grace);
        // A number just added (a redemption, an approval) may be a batch away from the log:
        // look again once the relay has had its batch time before calling it withheld.
        if withheld.iter().any(|f| f.code == "number_not_logged") {
            std::thread::sleep(transparency::BATCH_WAIT);
            applied.extend(log.sync(&relay)?);
            withheld = monitor::withheld(&own, &held, log.replica.state(), crate::now(), a.grace);
        }
        let mut found = monitor::watch(&own, &applied);
        found.extend(withheld.into_iter().filter(|f| reported.insert(f.message.clone())));
        alerts += found.iter().filter(|f| f.severity == Severity::Alert).count();
        for f in &found {
            report(ctx, f);
        }
        if !a.watch {
            let size = log.replica.size();
            ctx.out.result(&json!({"size": size, "new_entries": applied.len(), "alerts": alerts}), || {
                format!("Checked {} new log entries (log size {size}): {alerts} alert(s).", applied.len())
            });
            break;
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
    Ok(if alerts > 0 { exit::PIN } else { exit::OK })
}

fn report(ctx: &Ctx, f: &Finding) {
    let json = serde_json::to_value(f).unwrap_or_default();
    if f.severity == Severity::Alert {
        // Alerts go to stderr too, where a cron job's mail or a log shipper sees them.
        if !ctx.out.json {
            eprintln!("ALERT {}: {}", f.code, f.message);
            return;
        }
    }
    ctx.out.event(&json, || format!("{}: {}", f.code, f.message));
}
