//! Pagination (API.md, Conventions): `?limit=` (default 50, max 500) and an
//! opaque `cursor`; answers are `{"items":[…],"next_cursor":…|null}`, newest
//! first. A cursor names the last item of a page by its sort key: a time (or
//! another integer) and a unique id to break ties.

use fxe_protocol::api::Page;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::http::error::ApiError;
use crate::http::error::ErrorCode;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

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

    /// 400 `invalid_query` for anything this relay did not issue.
    pub fn decode(raw: &str) -> Result<Cursor, ApiError> {
        let bad = || ApiError::bad_request(ErrorCode::InvalidQuery, "cursor is not one this relay issued.");
        let bytes = fxe_protocol::encoding::b64u_decode("cursor", raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (time, id) = text.split_once(':').ok_or_else(bad)?;
        let id_ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(bad());
        }
        Ok(Cursor { time: time.parse().map_err(|_| bad())?, id: id.to_owned() })
    }
}

/// A validated `limit` and `cursor`.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(ErrorCode::InvalidQuery, format!("limit must be 1 to {MAX_LIMIT}.")));
        }
        Ok(PageRequest { limit, after: cursor.map(Cursor::decode).transpose()? })
    }

    /// How many rows to fetch: one more than the page, to know whether there is a next one.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
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
    pool: &AnyPool,
    select: &str,
    binds: &[String],
    (time_col, id_col): (&str, &str),
    page: &PageRequest,
    item: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Page<T>, ApiError> {
    let mut sql = select.to_owned();
    if page.after.is_some() {
        sql += &format!(" AND {}", older_than(time_col, id_col, binds.len() + 1));
    }
    sql += &format!(" ORDER BY {time_col} DESC, {id_col} DESC LIMIT {}", page.fetch());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = Cursor { time: 1_700_000_000_123, id: "ak_0123456789abcdef01234567".into() };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in [
            "",
            "!!",
            "bm90LWEtY3Vyc29y",
            &fxe_protocol::encoding::b64u_encode(b"12:a b"),
            &fxe_protocol::encoding::b64u_encode(b"x:abc"),
        ] {
            assert_eq!(Cursor::decode(bad).unwrap_err().code(), ErrorCode::InvalidQuery, "{bad}");
        }
    }

    #[test]
    fn limits_and_pages() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(501), None).is_err());
        let page = PageRequest::parse(Some(2), None).unwrap();
        assert_eq!(page.fetch(), 3);
        let (items, next) = page.finish(vec![3, 2, 1], |n| Cursor { time: *n, id: format!("id{n}") });
        assert_eq!(items, vec![3, 2]);
        assert_eq!(Cursor::decode(&next.unwrap()).unwrap(), Cursor { time: 2, id: "id2".into() });
        let (items, next) = page.finish(vec![1], |n| Cursor { time: *n, id: "x".into() });
        assert_eq!((items, next), (vec![1], None));
        assert_eq!(older_than("t", "id", 3), "(t < $3 OR (t = $3 AND id < $4))");
    }
}
