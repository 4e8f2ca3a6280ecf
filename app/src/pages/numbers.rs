//! `/dashboard/numbers` (admins): the org's fax numbers. Claim one (pending
//! until the relay's operator approves it) or release one.

use fxe_protocol::api::{ClaimNumberRequest, NumberInfo, NumberStatus, Org};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    browser::http::{self, ApiFailure},
    components::{ConfirmButton, FailureLine, FieldCheck, TextField, loaded, when},
};

#[component]
pub fn NumbersPage() -> impl IntoView {
    let org: LocalResource<Result<Org, ApiFailure>> = LocalResource::new(|| http::get("/org"));
    let number = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let check = Memo::new(move |_| {
        let n = number.get();
        (!n.trim().is_empty()).then(|| fxe_protocol::e164::normalize(&n).map_err(|e| e.to_string()))
    });

    let claim = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let normalised = match check.get_untracked() {
            Some(Ok(n)) => n,
            Some(Err(e)) => return failure.set(Some(e)),
            None => return failure.set(Some("Enter the number to claim.".into())),
        };
        failure.set(None);
        leptos::task::spawn_local(async move {
            match http::post::<NumberInfo>("/numbers", &ClaimNumberRequest { number: normalised }).await {
                Ok(_) => {
                    number.set(String::new());
                    org.refetch();
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let release = move |n: String| {
        leptos::task::spawn_local(async move {
            match http::call_empty("DELETE", &format!("/numbers/{}", http::segment(&n)), None::<&()>).await {
                Ok(()) => org.refetch(),
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };

    view! {
        <Title text="Numbers" />
        <div class="stack">
            <FailureLine failure />
            {loaded(org, "Loading your numbers…", move |org| view! {
                    <ul class="plain-list card" id="numbers">
                        {org.numbers.into_iter().map(|n| {
                            let number = n.number.clone();
                            view! {
                                <li class="row" data-number=n.number.clone()>
                                    <div>
                                        <strong class="mono">{n.number.clone()}</strong>
                                        <p class="hint">{if n.status == NumberStatus::Active {
                                            format!("active since {}", when(&n.created_at))
                                        } else {
                                            "waiting for the relay operator's approval".to_string()
                                        }}</p>
                                    </div>
                                    <ConfirmButton id=format!("release-{}", n.number.trim_start_matches('+')) label="Release" quiet=true
                                        question=format!("Release {}? Faxes to it will no longer reach you through fxe.", n.number)
                                        yes="Yes, release" on_yes=Callback::new(move |()| release(number.clone())) />
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            )}
            <form class="card stack" on:submit=claim aria-labelledby="claim-title">
                <h2 id="claim-title" class="h3">"Claim a number"</h2>
                <TextField id="claim-number" label="Fax number" value=number spellcheck="false" placeholder="+1 555 123 4567"
                    hint="The relay's operator checks that your organization controls it before it is listed.">
                    <FieldCheck check=check />
                </TextField>
                <div class="button-row"><button type="submit" class="button">"Claim"</button></div>
            </form>
        </div>
    }
}
