//! An in-page confirmation for a consequential action (no native dialog):
//! the button reveals the question with **Yes** and **Cancel** next to it.

use leptos::prelude::*;

/// A button `#{id}` that asks `question` in the page before `on_yes` runs;
/// the question is `#{id}-confirm`, its buttons `#{id}-yes` and `#{id}-no`.
#[component]
pub fn ConfirmButton(
    #[prop(into)] id: String, #[prop(into)] label: String, #[prop(into)] question: String, #[prop(into)] yes: String,
    on_yes: Callback<()>, #[prop(into, optional)] disabled: Signal<bool>,
    /// The button's look (`button--quiet` beside others in a row); plain by default.
    #[prop(optional)]
    quiet: bool,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let [dialog, question_id, yes_id, no_id] = ["confirm", "question", "yes", "no"].map(|part| format!("{id}-{part}"));
    view! {
        <button type="button" class="button" class:button--quiet=quiet id=id aria-expanded=move || asking.get().to_string()
            disabled=move || disabled.get() || asking.get()
            on:click=move |_| asking.set(true)>{label}</button>
        {move || asking.get().then(|| view! {
            <div class="alert alert--warning stack-sm" role="alertdialog" id=dialog.clone()
                aria-labelledby=question_id.clone()>
                <p id=question_id.clone()>{question.clone()}</p>
                <div class="button-row">
                    <button type="button" class="button button--danger" id=yes_id.clone()
                        on:click=move |_| { asking.set(false); on_yes.run(()) }>{yes.clone()}</button>
                    <button type="button" class="button" id=no_id.clone() on:click=move |_| asking.set(false)>"Cancel"</button>
                </div>
            </div>
        })}
    }
}
