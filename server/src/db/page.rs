//! One page of a newest-first listing (API.md, Conventions): rows ordered by
//! a time (or another integer) and a unique id, and the SQL that starts a
//! page after the last item of the previous one. Parsing `?limit=` and
//! `?cursor=` is the API's (`crate::api::pagination`).

use fxe_protocol::api::Page;
use sqlx::{Any, Row, any::AnyArguments, any::AnyRow, query::QueryAs};

use super::DbError;

/// Where a page starts: after the item with this `(time, id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub time: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        fxe_protocol::encoding::b64u_encode(format!("{}:{}", self.time, self.id).as_bytes())
    }
}

/// A validated `limit` and `cursor`.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, to know whether there is a next one.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// `select` (a `SELECT … FROM … WHERE …` with placeholders up to
    /// `$first - 1`) continued after [`PageRequest::after`], newest first by
    /// `time_col` then `id_col`, for one more row than the page; bind the
    /// cursor with [`PageRequest::bind`].
    pub fn sql(&self, select: &str, (time_col, id_col): (&str, &str), first: usize) -> String {
        let mut sql = select.to_owned();
        if self.after.is_some() {
            sql += &format!(" AND {}", older_than(time_col, id_col, first));
        }
        sql += &format!(" ORDER BY {time_col} DESC, {id_col} DESC LIMIT {}", self.fetch());
        sql
    }

    /// Binds the cursor to a query of [`PageRequest::sql`], after its own binds.
    pub fn bind<'q, O>(
        &'q self, query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
        match &self.after {
            Some(c) => query.bind(c.time).bind(c.id.as_str()),
            None => query,
        }
    }

    /// Cuts `rows` (fetched newest first with [`PageRequest::fetch`]) to the
    /// page and computes the next cursor from the last item kept.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Cursor) -> (Vec<T>, Option<String>) {
        if rows.len() > self.limit as usize {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(|last| key(last).encode());
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

/// Fetches one page of `select` (a `SELECT … FROM … WHERE …` whose
/// placeholders `$1…` take `binds`), newest first by `time_col` then
/// `id_col` (both must be selected), each row made an item by `item`.
pub async fn fetch<T>(
    pool: &sqlx::AnyPool, select: &str, binds: &[String], (time_col, id_col): (&str, &str), page: &PageRequest,
    item: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, DbError> {
    let sql = page.sql(select, (time_col, id_col), binds.len() + 1);
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(b.as_str());
    }
    if let Some(after) = &page.after {
        query = query.bind(after.time).bind(after.id.as_str());
    }
    let rows = query.fetch_all(pool).await?;
    let items = rows
        .iter()
        .map(|r| Ok((Cursor { time: r.try_get(time_col)?, id: r.try_get(id_col)? }, item(r)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let (items, next_cursor) = page.finish(items, |(cursor, _)| cursor.clone());
    Ok(Page { items: items.into_iter().map(|(_, item)| item).collect(), next_cursor })
}

/// The SQL condition "strictly older than the cursor" for a newest-first
/// listing ordered by `time_col DESC, id_col DESC`, with the placeholders
/// numbered from `first` (time) and `first + 1` (id).
pub fn older_than(time_col: &str, id_col: &str, first: usize) -> String {
    let (t, i) = (first, first + 1);
    format!("({time_col} < ${t} OR ({time_col} = ${t} AND {id_col} < ${i}))")
}

/// A listed item with the `(time, id)` it sorts by: the next page's
/// [`PageRequest::after`] when it is the last of a page.
#[derive(Clone, Debug)]
pub struct Keyed<T> {
    pub key: (i64, String),
    pub item: T,
}
