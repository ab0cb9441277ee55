//! Offset paging shared by listings.

use serde::{Deserialize, Serialize};

/// Page size when a listing's `limit` is not given.
pub fn default_page_limit() -> u32 {
    100
}

/// `?offset=&limit=` of an offset-paged listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct Page {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 4294967295_u64, format = Int64))]
    pub offset: u32,
    #[serde(default = "default_page_limit")]
    #[cfg_attr(feature = "openapi", param(default = 100, minimum = 1, maximum = 1000))]
    pub limit: u32,
}

impl Page {
    /// The next page's offset when this page came back full.
    pub fn next_offset(&self, returned: usize) -> Option<u32> {
        (returned == self.limit as usize).then(|| self.offset.saturating_add(self.limit))
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: default_page_limit(),
        }
    }
}

/// `#[serde(deserialize_with)]` for optional query parameters: `?cursor=` (empty) is the
/// same as leaving it out.
pub fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}
