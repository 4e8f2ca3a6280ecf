//! `/`: what fxe is, in plain words, and the two ways in.

use leptos::prelude::*;
use leptos_meta::Title;

/// The landing page: what the relay does, what it can and cannot see, and
/// links to redeem an invite or sign in.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Encrypted fax between organizations" />
        <div class="container stack-lg">
            <section class="hero stack" aria-labelledby="hero-title">
                <p class="eyebrow">"Invite-only fax relay"</p>
                <h1 id="hero-title">"Faxes between organizations, readable only by the people they are for."</h1>
                <p class="lead">
                    "fxe carries faxes between member organizations — clinics, laboratories, law firms — "
                    "over the internet instead of the phone line. Every page is encrypted on the sender's "
                    "side and opened only on the recipient's side. The relay in the middle passes sealed "
                    "envelopes along and cannot open them."
                </p>
                <div class="button-row">
                    <a class="button button--primary" href="/redeem">"Redeem an invite"</a>
                    <a class="button" href="/login">"Sign in"</a>
                </div>
            </section>

            <section class="stack" aria-labelledby="how-title">
                <h2 id="how-title">"How it works"</h2>
                <ol class="card-grid" role="list">
                    <li class="card stack-sm">
                        <h3>"1. Join with an invite"</h3>
                        <p>
                            "The relay's operator sends your organization a single-use invite. Redeeming it "
                            "registers your fax numbers and creates your keys on your own computer; "
                            "you keep them in a keys file that the relay never sees."
                        </p>
                    </li>
                    <li class="card stack-sm">
                        <h3>"2. Send as usual"</h3>
                        <p>
                            "When the number you dial belongs to another member, the fax is sealed for that "
                            "organization's keys and handed to the relay. Numbers outside the network keep "
                            "going through your ordinary fax line."
                        </p>
                    </li>
                    <li class="card stack-sm">
                        <h3>"3. Signed receipts"</h3>
                        <p>
                            "The recipient opens the fax and signs a receipt (or a refusal). The relay then "
                            "deletes the sealed copy, and you can prove delivery later."
                        </p>
                    </li>
                </ol>
            </section>

            <RelayVisibility />
        </div>
    }
}

/// "What can the relay see?" — a disclosure button. It only opens once the
/// page has hydrated, which the end-to-end test relies on.
#[component]
fn RelayVisibility() -> impl IntoView {
    let (open, set_open) = signal(false);

    view! {
        <section class="card stack-sm" aria-labelledby="visibility-title">
            <h2 id="visibility-title" class="h3">"What can the relay see?"</h2>
            <p>
                "Enough to deliver a fax, and nothing of what is in it."
            </p>
            <button
                type="button"
                class="button button--quiet"
                id="visibility-toggle"
                aria-controls="visibility-details"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| set_open.update(|o| *o = !*o)
            >
                {move || if open.get() { "Hide the details" } else { "Show the details" }}
            </button>
            <div id="visibility-details" class="stack-sm" hidden=move || !open.get()>
                <h3 class="h4">"The relay sees"</h3>
                <ul>
                    <li>"the sending and receiving fax numbers and the sender's display name;"</li>
                    <li>"which member organizations are involved;"</li>
                    <li>"the size of the encrypted fax and when it was sent, delivered or refused."</li>
                </ul>
                <h3 class="h4">"The relay never sees"</h3>
                <ul>
                    <li>"the pages: they are encrypted before they leave the sender;"</li>
                    <li>
                        "your organization's secret keys: they are made on your side and kept in a keys "
                        "file that the relay cannot recreate, so keep it safe."
                    </li>
                </ul>
                <p class="muted">
                    "The sealed copy is deleted once the recipient signs a receipt or a refusal, or "
                    "when it expires undelivered. Each organization's key fingerprint is shown so "
                    "that people can check it with each other directly."
                </p>
            </div>
        </section>
    }
}
