//! The transparency log monitor's banner on every dashboard page
//! (`fax::monitor`, docs/web.md "The log monitor"): a line saying the log
//! was checked, or an alert naming each change to the org's directory entry
//! that the org did not make, or the log's own failure with its evidence.

use leptos::prelude::*;

use crate::{
    components::Alert,
    fax::monitor::{self, Report},
    vault::Vault,
};

/// Runs the monitor once the page is in the browser, and again when the keys are unlocked
/// (then the org's bundles are checked against keys.zip too).
#[component]
pub fn LogMonitor(org_id: String) -> impl IntoView {
    let vault = Vault::get();
    let report = RwSignal::new(None::<Result<Report, String>>);
    let org = StoredValue::new(org_id);
    Effect::new(move |_| {
        let bundles = vault.unlocked().and_then(|_| {
            vault.with(|k| k.bundles.iter().map(|b| (b.bundle.bundle_id.clone(), b.bundle.created_at)).collect())
        });
        let org_id = org.get_value();
        leptos::task::spawn_local(async move {
            let r = monitor::run(&org_id, bundles).await;
            report.set(Some(r));
        });
    });
    let dismissed = RwSignal::new(None::<String>);
    let dismiss = move |alerts: Vec<monitor::Alert>| match monitor::dismiss(&org.get_value(), &alerts) {
        Ok(()) => {
            report.update(|r| {
                if let Some(Ok(Report::Checked { alerts, .. })) = r {
                    alerts.clear();
                }
            });
            dismissed.set(None);
        }
        Err(m) => dismissed.set(Some(m)),
    };
    move || {
        match report.get() {
        None => view! {
            <p class="hint log-monitor" id="log-monitor" data-state="checking">"Checking the relay's transparency log…"</p>
        }
        .into_any(),
        Some(Ok(Report::NoLog)) => ().into_any(),
        Some(Ok(Report::Checked { size, alerts, bundles_checked })) if alerts.is_empty() => {
            let bundles = if bundles_checked { "" } else { " Unlock your keys to check its bundles too." };
            view! {
                <p class="hint log-monitor" id="log-monitor" data-state="ok" data-size=size>
                    {format!("Transparency log checked ({size} entries): nothing about your organization that it did not do.{bundles}")}
                </p>
            }
            .into_any()
        }
        Some(Ok(Report::Checked { alerts, .. })) => {
            let shown = alerts.clone();
            view! {
                <Alert kind="danger">
                    <div class="stack-sm log-monitor" id="log-monitor" data-state="alert">
                        <p><strong>"The relay's transparency log shows changes to your organization's keys or numbers."</strong></p>
                        <ul id="log-alerts">
                            {alerts.into_iter().map(|a| view! { <li data-code=a.code.clone()>{a.message}</li> }).collect_view()}
                        </ul>
                        <p>"If nobody in your organization did this (an admin removing a number, rotating keys, a re-invite from the operator), the relay, or someone with access to it, changed how other organizations reach you. Tell your relay operator and the other member organizations."</p>
                        <button type="button" class="button" id="log-dismiss" on:click=move |_| dismiss(shown.clone())>
                            "I have checked these: dismiss"
                        </button>
                        {move || dismissed.get().map(|m| view! { <p>{m}</p> })}
                    </div>
                </Alert>
            }
            .into_any()
        }
        Some(Ok(Report::Broken { message, evidence })) => view! {
            <Alert kind="danger">
                <div class="stack-sm log-monitor" id="log-monitor" data-state="broken">
                    <p><strong>"The relay's transparency log failed a check: "</strong>{message}</p>
                    <p>"The relay may be showing different organizations different keys. Do not rely on keys it hands out until this is explained: tell your relay operator and the other member organizations, and keep the two checkpoints below."</p>
                    {evidence.map(|(seen, offered)| view! {
                        <details>
                            <summary>"The evidence: two signed checkpoints"</summary>
                            <p>"Seen before:"</p><pre id="log-evidence-seen">{seen}</pre>
                            <p>"Offered now:"</p><pre id="log-evidence-offered">{offered}</pre>
                        </details>
                    })}
                </div>
            </Alert>
        }
        .into_any(),
        Some(Err(m)) => view! {
            <p class="hint log-monitor" id="log-monitor" data-state="unavailable">
                {format!("The transparency log could not be checked: {m}")}
            </p>
        }
        .into_any(),
    }
    }
}
