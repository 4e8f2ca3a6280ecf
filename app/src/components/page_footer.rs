//! A paged list (`{"items","next_cursor"}`) in a page: [`Paged`], its
//! state, and [`PageFooter`], what stands under it.

use super::Loading;
use leptos::prelude::*;

/// A paged list's state: the items shown, the next page's cursor (`None`:
/// the relay has no more), whether a page is loading, and the last failure.
pub struct Paged<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub loading: RwSignal<bool>,
    pub failure: RwSignal<Option<String>>,
}

impl<T: Send + Sync + 'static> Default for Paged<T> {
    /// Nothing shown yet, the first page loading.
    fn default() -> Self {
        Paged {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(true),
            failure: RwSignal::new(None),
        }
    }
}

/// Under a paged list: a spinner while a page loads; while the relay has
/// older items, a button (`older`, with id `older_id`) that runs
/// `on_older`; otherwise `empty` (with id `empty_id`) when nothing is
/// listed, or `end` when everything is.
#[component]
pub fn PageFooter(
    loading: RwSignal<bool>, next: RwSignal<Option<String>>, #[prop(into)] is_empty: Signal<bool>,
    loading_label: &'static str, older: &'static str, #[prop(optional)] older_id: Option<&'static str>,
    #[prop(into)] on_older: Callback<()>, empty: &'static str, #[prop(optional)] empty_id: Option<&'static str>,
    #[prop(optional)] end: Option<&'static str>,
) -> impl IntoView {
    move || {
        if loading.get() {
            view! { <Loading label=loading_label /> }.into_any()
        } else if next.with(Option::is_some) {
            view! {
                <div class="button-row">
                    <button type="button" id=older_id class="button" on:click=move |_| on_older.run(())>{older}</button>
                </div>
            }
            .into_any()
        } else if is_empty.get() {
            view! { <p class="muted" id=empty_id>{empty}</p> }.into_any()
        } else {
            end.map(|end| view! { <p class="muted">{end}</p> }).into_any()
        }
    }
}
