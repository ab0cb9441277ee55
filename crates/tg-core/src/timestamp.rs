use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::OwnedFormatItem;
use time::format_description::well_known::Rfc3339;

/// `2024-01-15T12:30:00[.123456]`, described once on first use (the `time` crate's
/// compile-time macro would add a proc-macro crate to every client's build).
static NAIVE: LazyLock<Option<OwnedFormatItem>> = LazyLock::new(|| {
    time::format_description::parse_owned::<2>(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]",
    )
    .ok()
});

/// An instant, in microseconds since the Unix epoch (UTC).
///
/// Stored as a 64-bit integer in both databases; printed as RFC 3339 UTC with a `Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid timestamp `{0}`: expected RFC 3339, e.g. `2024-01-15T12:30:00Z`")]
pub struct TimestampError(String);

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000) as i64)
    }

    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1_000_000))
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1_000_000)))
    }

    /// Seconds from `earlier` to `self` as a float; negative when `earlier` is later.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0.saturating_sub(earlier.0)) as f64 / 1_000_000.0
    }

    /// Days from `earlier` to `self`, never negative.
    pub fn days_since(self, earlier: Timestamp) -> f64 {
        (self.secs_since(earlier) / 86_400.0).max(0.0)
    }

    /// Parses RFC 3339 (any offset; normalised to UTC).
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let dt = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError(s.to_owned()))?;
        let micros = dt.unix_timestamp_nanos() / 1_000;
        i64::try_from(micros)
            .map(Self)
            .map_err(|_| TimestampError(s.to_owned()))
    }

    /// RFC 3339, or an ISO 8601 date-time without an offset (`2024-01-15T12:30:00.123456`,
    /// what Python's naive `datetime.isoformat()` prints), read as UTC — for V2 clients.
    pub fn parse_rfc3339_or_naive_utc(s: &str) -> Result<Self, TimestampError> {
        if let Ok(t) = Self::parse_rfc3339(s) {
            return Ok(t);
        }
        let naive = NAIVE.as_ref().ok_or_else(|| TimestampError(s.to_owned()))?;
        let dt = time::PrimitiveDateTime::parse(s, naive)
            .map_err(|_| TimestampError(s.to_owned()))?
            .assume_utc();
        i64::try_from(dt.unix_timestamp_nanos() / 1_000)
            .map(Self)
            .map_err(|_| TimestampError(s.to_owned()))
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with `Z`, microsecond precision when there is a fraction.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            Some(text) => f.write_str(text.as_str()),
            None => self.write_formatted(f),
        }
    }
}

/// A timestamp's RFC 3339 text on the stack (`2024-01-15T12:30:00.000123Z` at most): what
/// answers print for every timestamp, without the formatting machinery or an allocation.
#[derive(Clone, Copy)]
struct Rfc3339Text {
    bytes: [u8; 27],
    len: usize,
}

impl Rfc3339Text {
    fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        self.bytes
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// Writes `n` as exactly `out.len()` decimal digits (the caller bounds `n`).
fn digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

impl Timestamp {
    /// The RFC 3339 text for years 0 to 9999 (every instant `Display` prints with a
    /// four-digit year); `None` before year 0.
    fn rfc3339(self) -> Option<Rfc3339Text> {
        let dt = self.to_datetime();
        let year = u32::try_from(dt.year()).ok()?;
        let mut bytes = *b"0000-00-00T00:00:00.000000Z";
        digits(&mut bytes[0..4], year);
        digits(&mut bytes[5..7], u32::from(u8::from(dt.month())));
        digits(&mut bytes[8..10], u32::from(dt.day()));
        digits(&mut bytes[11..13], u32::from(dt.hour()));
        digits(&mut bytes[14..16], u32::from(dt.minute()));
        digits(&mut bytes[17..19], u32::from(dt.second()));
        let len = match dt.microsecond() {
            0 => {
                bytes[19] = b'Z';
                20
            }
            micros => {
                digits(&mut bytes[20..26], micros);
                27
            }
        };
        Some(Rfc3339Text { bytes, len })
    }

    /// The general printer, through `fmt`: used before year 0, where `rfc3339` declines.
    fn write_formatted(self, f: &mut impl fmt::Write) -> fmt::Result {
        let dt = self.to_datetime();
        let (y, mo, d) = (dt.year(), u8::from(dt.month()), dt.day());
        let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
        let micros = dt.microsecond();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => serializer.collect_str(self),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339, UTC, microsecond precision"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(deserialize_with)]` for request fields V2 clients fill with naive timestamps.
pub fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
    s.map(|s| Timestamp::parse_rfc3339_or_naive_utc(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_iso_timestamps_are_read_as_utc() {
        let t = Timestamp::from_secs(1_705_321_800);
        assert_eq!(
            Timestamp::parse_rfc3339_or_naive_utc("2024-01-15T12:30:00"),
            Ok(t)
        );
        assert_eq!(
            Timestamp::parse_rfc3339_or_naive_utc("2024-01-15T12:30:00.000123"),
            Ok(Timestamp::from_micros(1_705_321_800_000_123))
        );
        assert_eq!(
            Timestamp::parse_rfc3339_or_naive_utc("2024-01-15T13:30:00+01:00"),
            Ok(t)
        );
        for bad in [
            "2024-01-15",
            "2024-01-15 12:30:00",
            "yesterday",
            "2024-13-01T00:00:00",
        ] {
            assert!(Timestamp::parse_rfc3339_or_naive_utc(bad).is_err(), "{bad}");
        }
        assert!(Timestamp::parse_rfc3339("2024-01-15T12:30:00").is_err());
    }

    #[test]
    fn prints_rfc3339_utc_with_z() {
        assert_eq!(
            Timestamp::from_secs(1_705_321_800).to_string(),
            "2024-01-15T12:30:00Z"
        );
        assert_eq!(
            Timestamp::from_micros(1_705_321_800_000_123).to_string(),
            "2024-01-15T12:30:00.000123Z"
        );
    }

    #[test]
    fn the_stack_text_is_what_the_general_printer_prints() {
        // Year 0 to 9999 (every year printed with four digits), with and without
        // fractions, and the ends of the range.
        let first = Timestamp::parse_rfc3339("0000-01-01T00:00:00Z").unwrap();
        let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999Z").unwrap();
        let span = last.as_micros() - first.as_micros();
        let step = span / 100_003;
        let mut at = first.as_micros();
        let mut checked = 0;
        while at <= last.as_micros() {
            for t in [at, at - at.rem_euclid(1_000_000), at + 1] {
                let t = Timestamp::from_micros(t);
                let mut general = String::new();
                t.write_formatted(&mut general).unwrap();
                if t <= last {
                    assert_eq!(t.rfc3339().unwrap().as_str(), general);
                    assert_eq!(t.to_string(), general);
                    checked += 1;
                }
            }
            at += step;
        }
        assert!(checked > 300_000);
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999999Z");
        assert_eq!(first.to_string(), "0000-01-01T00:00:00Z");
        // Before year 0 only the general printer prints.
        let before = Timestamp::from_micros(first.as_micros() - 1);
        assert!(before.rfc3339().is_none());
        assert_eq!(before.to_string(), "-001-12-31T23:59:59.999999Z");
    }

    #[test]
    fn serialises_as_its_rfc3339_text() {
        let t = Timestamp::from_micros(1_705_321_800_000_123);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2024-01-15T12:30:00.000123Z\""
        );
        let whole = Timestamp::from_secs(1_705_321_800);
        assert_eq!(
            serde_json::to_string(&whole).unwrap(),
            "\"2024-01-15T12:30:00Z\""
        );
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = Timestamp::parse_rfc3339("2024-01-15T13:30:00+01:00");
        assert_eq!(t, Ok(Timestamp::from_secs(1_705_321_800)));
        assert!(Timestamp::parse_rfc3339("2024-01-15 12:30").is_err());
        assert!(Timestamp::parse_rfc3339("").is_err());
    }

    #[test]
    fn round_trips_through_text() {
        let t = Timestamp::from_micros(1_705_321_800_654_321);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Ok(t));
    }
}
