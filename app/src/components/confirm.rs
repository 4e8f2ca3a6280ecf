//! An in-page confirmation for a consequential action (no native dialog):
//! the button reveals the question with **Yes** and **Cancel** next to it.

use leptos::prelude::*;

/// A button `#{id}` that asks `question` in the page before `on_yes` runs;
/// the question is `#{id}-confirm`, its buttons `#{id}-yes` and `#{id}-no`.
#[component]
pub fn ConfirmButton(
    id: &'static str,
    #[prop(into)] label: String,
    #[prop(into)] question: String,
    #[prop(into)] yes: String,
    on_yes: Callback<()>,
    #[prop(into, optional)] disabled: Signal<bool>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    view! {
        <button type="button" class="button" id=id aria-expanded=move || asking.get().to_string()
            disabled=move || disabled.get() || asking.get()
            on:click=move |_| asking.set(true)>{label}</button>
        {move || asking.get().then(|| view! {
            <div class="alert alert--warning stack-sm" role="alertdialog" id=format!("{id}-confirm")
                aria-labelledby=format!("{id}-question")>
                <p id=format!("{id}-question")>{question.clone()}</p>
                <div class="button-row">
                    <button type="button" class="button button--danger" id=format!("{id}-yes")
                        on:click=move |_| { asking.set(false); on_yes.run(()) }>{yes.clone()}</button>
                    <button type="button" class="button" id=format!("{id}-no") on:click=move |_| asking.set(false)>"Cancel"</button>
                </div>
            </div>
        })}
    }
}
