//! `/dashboard/team` (admins): the org's people. Invite an admin or a user by
//! e-mail (a single-use passkey setup link, mailed and shown once), issue a
//! new link, remove someone (their sessions end).

use fxe_protocol::api::{CreateUserRequest, Page, User, UserWithSetupLink};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    browser::http::{self, ApiFailure},
    components::{Alert, ConfirmButton, CopyButton, FailureLine, Field, Table, TextField, loaded, when},
};

#[component]
pub fn TeamPage() -> impl IntoView {
    let users: LocalResource<Result<Page<User>, ApiFailure>> = LocalResource::new(|| http::get("/users?limit=500"));
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("user".to_string());
    let working = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let link = RwSignal::new(None::<UserWithSetupLink>);

    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateUserRequest { email: email.get_untracked().trim().to_string(), role: role.get_untracked() };
        working.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match http::post::<UserWithSetupLink>("/users", &request).await {
                Ok(answer) => {
                    link.set(Some(answer));
                    email.set(String::new());
                    users.refetch();
                }
                Err(e) => failure.set(Some(e.message)),
            }
            working.set(false);
        });
    };
    let new_link = move |user: User| {
        failure.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/users/{}/setup-link", http::segment(&user.id));
            match http::call::<UserWithSetupLink>("POST", &path, None::<&()>).await {
                Ok(answer) => link.set(Some(answer)),
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let remove = move |user: User| {
        failure.set(None);
        leptos::task::spawn_local(async move {
            match http::call_empty("DELETE", &format!("/users/{}", http::segment(&user.id)), None::<&()>).await {
                Ok(()) => users.refetch(),
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };

    view! {
        <Title text="Team" />
        <div class="stack">
            <section class="card stack" aria-labelledby="invite-title">
                <h2 id="invite-title" class="h3">"Invite someone"</h2>
                <form class="stack" on:submit=invite>
                    <TextField id="member-email" label="E-mail address" value=email kind="email" autocomplete="off"
                        required=true />
                    <Field id="member-role" label="Role">
                        <select id="member-role" on:change=move |ev| role.set(event_target_value(&ev))>
                            <option value="user" selected=true>"User: sends and opens faxes"</option>
                            <option value="admin">"Admin: also keys, numbers, team and webhooks"</option>
                        </select>
                    </Field>
                    <div class="button-row">
                        <button type="submit" class="button button--primary" id="invite-member" disabled=move || working.get()>
                            "Send invitation"
                        </button>
                    </div>
                </form>
                <FailureLine failure />
                {move || link.get().map(|answer| view! {
                    <div class="alert alert--success stack-sm" role="status" id="member-link">
                        <p>{format!(
                            "A setup link for {} was mailed to them. It works once, for 24 hours; you can also pass it on yourself:",
                            answer.user.email
                        )}</p>
                        <div class="copy-field">
                            <input readonly aria-label="Setup link" id="member-setup-url" prop:value=answer.setup_url.clone() />
                            <CopyButton text=answer.setup_url.clone() label="Copy link" />
                        </div>
                        <p id="member-needs-keys">
                            "To open and send faxes they also need your organization's keys: give them a "
                            <strong>"staff keys.zip"</strong>
                            " (Keys page, after unlocking: no identity secret, no API keys), never the full keys.zip. "
                            "They unlock it once and can then remember it on their device with their passkey."
                        </p>
                    </div>
                })}
            </section>
            <section class="stack" aria-labelledby="members-title">
                <h2 id="members-title" class="h3">"People"</h2>
                {loaded(users, "Loading the team…", move |page| view! {
                        <Table id="members" columns=&["E-mail", "Role", "Passkeys", "Added"] actions=true>
                                    {page.items.into_iter().map(|u| {
                                        let (a, b) = (u.clone(), u.clone());
                                        view! {
                                            <tr data-user=u.email.clone()>
                                                <td>{u.email.clone()}</td>
                                                <td>{u.role.clone()}</td>
                                                <td>{if u.passkeys == 0 { "none yet".to_string() } else { u.passkeys.to_string() }}</td>
                                                <td>{when(&u.created_at)}</td>
                                                <td class="button-row">
                                                    <button type="button" class="button button--quiet" on:click=move |_| new_link(a.clone())>"New setup link"</button>
                                                    <ConfirmButton id=format!("remove-user-{}", u.id) label="Remove" quiet=true
                                                        question=format!("Remove {} from the org? Their sessions end and their passkeys stop working.", u.email)
                                                        yes="Yes, remove" on_yes=Callback::new(move |()| remove(b.clone())) />
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </Table>
                        <Alert kind="info"><p>"A setup link also lets someone who lost their passkey in; existing passkeys keep working."</p></Alert>
                    }
                )}
            </section>
        </div>
    }
}
