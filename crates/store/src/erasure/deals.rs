//! The deals side of an erasure: the person's deals (found by contact, lead or CRM
//! customer) lose who bought, the figures derived from them go, and the contacts on them
//! join the plan (hashed into the suppressions with the rest).

use super::{ErasurePlan, Step, Traces};
use crate::{db, ids_sql, strs_sql, Store, StoreError};

impl Store {
    /// The contacts on the person's deals (the ones the erasure anonymises): a number or
    /// address known only to the CRM is theirs too, and is hashed into the suppressions
    /// like the rest, so a later list bringing it back is refused.
    pub(super) fn grow_traces_by_deals(&self, found: &mut Traces) -> Result<(), StoreError> {
        let leads: Vec<i64> = found.leads.iter().copied().collect();
        let p: Vec<String> = found.phones.iter().cloned().collect();
        let m: Vec<String> = found.emails.iter().cloned().collect();
        let sql = format!(
            "SELECT DISTINCT phone_e164, email FROM deals WHERE {}",
            their_deals_sql(&ids_sql(&leads), &strs_sql(&p), &strs_sql(&m))
        );
        let mut stmt = self.conn.prepare(&sql).map_err(db("planning an erasure"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            })
            .map_err(db("planning an erasure"))?;
        for row in rows {
            let (phone, email) = row.map_err(db("planning an erasure"))?;
            found.phones.extend(phone);
            found.emails.extend(email);
        }
        Ok(())
    }
}

/// The deals of the people with these leads and contacts (SQL lists): by contact or lead,
/// by another contact on one of those deals, or of a CRM customer one of whose deals was
/// (that id may be their name). A condition on `deals`.
fn their_deals_sql(leads: &str, phones: &str, emails: &str) -> String {
    let theirs = format!(
        "SELECT * FROM deals WHERE phone_e164 IN ({phones}) OR email IN ({emails})
             OR given_lead_id IN ({leads})
             OR deal_id IN (SELECT deal_id FROM deal_owners WHERE lead_id IN ({leads}))"
    );
    format!(
        "deal_id IN (SELECT deal_id FROM ({theirs}))
         OR phone_e164 IN (SELECT phone_e164 FROM ({theirs}))
         OR email IN (SELECT email FROM ({theirs}))
         OR customer_ref IN (SELECT customer_ref FROM ({theirs}))"
    )
}

/// The statements that clear `plan` from the deals and what the segment stage and
/// `analyse` derived from them. The person's deals stay (revenue is the business's) with
/// who bought erased: one anonymous customer per erasure.
pub(super) fn deal_erasure_steps(plan: &ErasurePlan) -> Vec<Step> {
    let leads = ids_sql(&plan.lead_ids);
    let phones = strs_sql(&plan.phones);
    let emails = strs_sql(&plan.emails);
    let mentions = |text: &str| plan.mentions_sql(text);
    let step = |table: &'static str, sql: String| Step { table, sql };
    let erased_deals = their_deals_sql(&leads, &phones, &emails);
    let keys: Vec<String> = plan
        .phones
        .iter()
        .map(|p| format!("phone:{p}"))
        .chain(plan.emails.iter().map(|e| format!("email:{e}")))
        .chain(plan.lead_ids.iter().map(|l| format!("lead:{l}")))
        .collect();
    let keys = strs_sql(&keys);
    // Customers whose deals are the person's, read before the deals are anonymised.
    let customer = format!(
        "lead_id IN ({leads}) OR customer_key IN ({keys}) OR customer_id IN (
             SELECT customer_id FROM deal_owners
             WHERE deal_id IN (SELECT deal_id FROM deals WHERE {erased_deals}))"
    );
    let customer_keyed = format!(
        "lead_id IN ({leads}) OR customer_key IN ({keys})
             OR customer_key IN (SELECT customer_key FROM customers WHERE {customer})"
    );
    let anonymous = format!("erased-{:x}", chrono::Utc::now().timestamp_micros());
    let mut steps = vec![
        step("customer_rfm", format!(
            "DELETE FROM customer_rfm WHERE customer_key IN (SELECT customer_key FROM customers WHERE {customer})"
        )),
        step("customer_value", format!("DELETE FROM customer_value WHERE {customer_keyed}")),
        step("customers", format!("DELETE FROM customers WHERE {customer}")),
        step("deals", format!(
            "UPDATE deals SET phone_e164 = NULL, email = NULL, customer_name = NULL, extra = NULL,
                 given_lead_id = NULL, customer_ref = '{anonymous}'
             WHERE {erased_deals}"
        )),
        // After the deals: which they were is read from `deal_owners` above.
        step("deal_owners", format!(
            "DELETE FROM deal_owners WHERE lead_id IN ({leads})
                 OR deal_id IN (SELECT deal_id FROM deals WHERE customer_ref = '{anonymous}')"
        )),
        // Another deal's free text may name the person.
        step("deals", format!(
            "UPDATE deals SET customer_name = NULL, extra = NULL WHERE {}",
            mentions("coalesce(customer_name, '') || ' ' || coalesce(extra::VARCHAR, '')")
        )),
    ];
    // Any other text column that may name the person is replaced where it does.
    for (table, column) in [
        ("deals", "product"),
        ("deals", "category"),
        ("deals", "channel"),
        ("deal_rejects", "value"),
        ("deal_files", "path"),
        ("spend", "note"),
    ] {
        steps.push(step(
            table,
            format!(
                "UPDATE {table} SET {column} = '[erased]' WHERE {}",
                mentions(&format!("coalesce({column}, '')"))
            ),
        ));
    }
    steps
}
