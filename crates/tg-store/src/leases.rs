use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tg_core::{StoreError, Timestamp};
use tg_service::LeaseStore;

use crate::conn::{DbTx, run};
use crate::schema::leases;

#[derive(Insertable)]
#[diesel(table_name = leases)]
struct LeaseRow<'a> {
    name: &'a str,
    holder: &'a str,
    expires_at: i64,
}

#[async_trait::async_trait]
impl LeaseStore for DbTx<'_> {
    async fn take_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let row = LeaseRow {
            name,
            holder,
            expires_at: until.as_micros(),
        };
        let inserted = run!(self, |c| diesel::insert_into(leases::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)
            .await)?;
        if inserted == 1 {
            return Ok(true);
        }
        // Taken over when expired, renewed when ours; the row lock makes one writer win.
        let mine_or_free = leases::table.filter(leases::name.eq(name)).filter(
            leases::holder
                .eq(holder)
                .or(leases::expires_at.le(now.as_micros())),
        );
        let updated = run!(self, |c| diesel::update(mine_or_free)
            .set((
                leases::holder.eq(holder),
                leases::expires_at.eq(until.as_micros())
            ))
            .execute(c)
            .await)?;
        Ok(updated == 1)
    }
}
