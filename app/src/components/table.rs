//! [`Table`]: a data table in its scrolling wrapper.

use leptos::prelude::*;

/// A table with id `id` inside its scrolling wrapper: a header cell for each
/// of `columns`, then (with `actions`) one for a column of buttons, named for
/// screen readers only; `children` are the body's rows.
#[component]
pub fn Table(
    id: &'static str, columns: &'static [&'static str], #[prop(optional)] actions: bool, children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" id=id>
                <thead><tr>
                    {columns.iter().map(|name| view! { <th scope="col">{*name}</th> }).collect_view()}
                    {actions.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
