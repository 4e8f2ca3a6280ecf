//! The form fields every page builds the same way: `<div class="field">`, its
//! `<label>`, the control, and an optional hint under it.

use leptos::prelude::*;

/// One labelled form field around any control (`children`: a `<select>`, a
/// `<textarea>`, …) whose element id is `id`; `hint`, if given, is shown
/// under the control.
#[component]
pub fn Field(
    /// The control's element id, which the label points at.
    #[prop(into)]
    id: String,
    /// The label's text.
    label: &'static str,
    /// A line of help under the control.
    #[prop(optional)]
    hint: Option<&'static str>, children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {children()}
            {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
        </div>
    }
}

/// A labelled `<input>` bound to `value`: typing sets it (and then calls
/// `on_input`, if given), setting it shows it. The optional props become the
/// input's attributes of the same names (`kind` is its `type`); `children`,
/// if any, follow the hint (a live check, a lookup's result).
#[component]
pub fn TextField(
    /// The input's element id, which the label points at.
    #[prop(into)]
    id: String,
    /// The label's text.
    label: &'static str, /// What the input holds.
    value: RwSignal<String>,
    /// A line of help under the input.
    #[prop(optional)]
    hint: Option<&'static str>,
    /// Called with the new text after each keystroke has set `value`.
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
    /// The input's `type` (text when not given).
    #[prop(optional)]
    kind: Option<&'static str>,
    #[prop(optional)] name: Option<&'static str>, #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>, #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] spellcheck: Option<&'static str>, #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] required: bool,
    /// The ids of the elements that describe the input (`aria-describedby`).
    #[prop(optional)]
    describedby: Option<&'static str>,
    /// Whether what is typed is wrong (`aria-invalid`; left out when not given).
    #[prop(optional, into)]
    invalid: Option<Signal<bool>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id name=name type=kind autocomplete=autocomplete placeholder=placeholder
                maxlength=maxlength.map(|n| n.to_string()) spellcheck=spellcheck inputmode=inputmode
                required=required aria-describedby=describedby
                aria-invalid=move || invalid.map(|bad| if bad.get() { "true" } else { "false" })
                prop:value=move || value.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    value.set(typed.clone());
                    if let Some(on_input) = on_input {
                        on_input.run(typed);
                    }
                } />
            {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
            {children.map(|children| children())}
        </div>
    }
}

/// The live check under a field (`aria-live`): `✓ {ok}` or the error, nothing
/// while `check` is `None`. `id`, if given, is the line's element id.
#[component]
pub fn FieldCheck(
    /// What the typed value was checked to be: the normalised value or the problem.
    #[prop(into)]
    check: Signal<Option<Result<String, String>>>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <p id=id aria-live="polite">
            {move || match check.get() {
                Some(Ok(ok)) => Some(view! { <span class="field-ok">{format!("✓ {ok}")}</span> }.into_any()),
                Some(Err(e)) => Some(view! { <span class="field-error">{e}</span> }.into_any()),
                None => None,
            }}
        </p>
    }
}

/// A checkbox with its text in one `<label class="check">`, bound to `checked`.
#[component]
pub fn CheckBox(
    /// The checkbox's element id.
    id: &'static str, /// Whether it is ticked.
    checked: RwSignal<bool>,
    /// The text beside the box.
    text: &'static str,
    /// Greyed out (the choice is not available).
    #[prop(optional)]
    disabled: bool,
) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" id=id disabled=disabled prop:checked=move || checked.get()
                on:change=move |ev| checked.set(event_target_checked(&ev)) />
            {text}
        </label>
    }
}
