//! Warmth: a 0–100 score and a cold / warm / hot tier per lead, from signals with weights
//! in the pipeline file (`[warmth]`). Every point is attributed to one of five signals so
//! a caller can be told why a lead is warm. Recomputed on every run: recency decays with
//! the run date (`--as-of` pins it).
//!
//! The score is computed set-based in SQL (`Store::score_warmth`) from the SQL this module
//! builds out of the settings: it runs over every lead on every run.

use serde::{Deserialize, Serialize};

/// Weights and thresholds. Defaults and their reasoning are in README "Warmth".
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmthSettings {
    /// How the lead came in (the best origin of its records counts).
    pub form: i32,
    pub purchased: i32,
    pub open: i32,
    /// Points for a touch today, halving every `half_life_days`.
    pub recency: i32,
    pub half_life_days: f64,
    /// Each record beyond the first (the person came back), up to `repeat_max`.
    pub repeat: i32,
    pub repeat_max: i32,
    /// Each further source that agrees, up to `sources_max`.
    pub extra_source: i32,
    pub sources_max: i32,
    /// Engagement events within `engagement_window_days`.
    pub visit: i32,
    pub visit_max: i32,
    pub email_open: i32,
    pub email_open_max: i32,
    pub reply: i32,
    pub call_reached: i32,
    pub call_refused: i32,
    pub call_no_answer: i32,
    /// The floor for repeated no-answers (a negative number).
    pub no_answer_min: i32,
    pub engagement_window_days: u32,
    /// Contact data that lets us reach and address the person.
    pub valid_phone: i32,
    pub valid_email: i32,
    pub full_name: i32,
    pub company_or_city: i32,
    /// Tier thresholds: `hot` and above is hot, `warm` and above warm, the rest cold.
    pub hot: i32,
    pub warm: i32,
}

impl Default for WarmthSettings {
    fn default() -> Self {
        WarmthSettings {
            form: 30,
            purchased: 10,
            open: 5,
            recency: 25,
            half_life_days: 30.0,
            repeat: 5,
            repeat_max: 10,
            extra_source: 5,
            sources_max: 5,
            visit: 2,
            visit_max: 6,
            email_open: 2,
            email_open_max: 4,
            reply: 8,
            call_reached: 6,
            call_refused: -15,
            call_no_answer: -2,
            no_answer_min: -6,
            engagement_window_days: 90,
            valid_phone: 4,
            valid_email: 3,
            full_name: 2,
            company_or_city: 1,
            hot: 60,
            warm: 35,
        }
    }
}

impl WarmthSettings {
    /// Checks the settings make sense; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.half_life_days > 0.0 && self.half_life_days.is_finite()) {
            return Err(format!(
                "warmth.half_life_days {} must be a positive number of days",
                self.half_life_days
            ));
        }
        if !(0..=100).contains(&self.warm) || !(0..=100).contains(&self.hot) || self.warm > self.hot
        {
            return Err(format!(
                "warmth.warm ({}) and warmth.hot ({}) must be within 0–100, warm ≤ hot",
                self.warm, self.hot
            ));
        }
        if self.engagement_window_days == 0 || self.engagement_window_days > 36_500 {
            return Err(format!(
                "warmth.engagement_window_days {} must be between 1 and 36500",
                self.engagement_window_days
            ));
        }
        if self.no_answer_min > 0 {
            return Err("warmth.no_answer_min is a floor and must be 0 or negative".into());
        }
        Ok(())
    }

    /// The tier of a score.
    pub fn tier(&self, score: i32) -> &'static str {
        if score >= self.hot {
            "hot"
        } else if score >= self.warm {
            "warm"
        } else {
            "cold"
        }
    }

    /// Points for recency after `age_days` (the same formula as the SQL).
    pub fn recency_points(&self, age_days: f64) -> i32 {
        let age = age_days.max(0.0);
        (f64::from(self.recency) * 0.5f64.powf(age / self.half_life_days)).round() as i32
    }

    /// SQL that scores every lead as of `now` into the temp table `warmth` (lead_id,
    /// origin, recency, frequency, engagement, completeness, score, tier, last_touch_at).
    /// Times are literals: the bundled DuckDB has no ICU, so no TIMESTAMPTZ arithmetic.
    pub fn scoring_sql(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        self.scoring_sql_for(now, "leads")
    }

    /// [`Self::scoring_sql`] for the golden records in relation `leads` (a part of the
    /// table), counting their records in `records`.
    pub fn scoring_sql_for(&self, now: chrono::DateTime<chrono::Utc>, leads: &str) -> String {
        let touch = format!(
            "SELECT r.lead_id, count(*) AS n, count(DISTINCT r.source) AS sources,
                    -- When the person last did something: submitted, consented, or
                    -- the date the list gives. Not when we bought or imported it.
                    max(coalesce(r.created_at, r.consent_at)) AS last_seen
             FROM records r
             WHERE r.lead_id IN (SELECT lead_id FROM {leads}) GROUP BY r.lead_id"
        );
        self.scoring_sql_with(now, leads, &touch)
    }

    /// [`Self::scoring_sql_for`] for golden records just built (relation `leads` with
    /// `record_count`, `sources` and `last_seen_at`, the newest `created_at` of their
    /// records): the counts are theirs, and only records with a consent time but no date
    /// of their own are read, for when they were last seen. The same figures as counting
    /// in `records`, without grouping every record by lead (0.3 s at 1M rows, 3.5 s at
    /// 10M).
    pub fn golden_scoring_sql(&self, now: chrono::DateTime<chrono::Utc>, leads: &str) -> String {
        let touch = format!(
            "SELECT g.lead_id, g.record_count AS n, len(g.sources) AS sources,
                    greatest(g.last_seen_at, u.consented) AS last_seen
             FROM {leads} g LEFT JOIN (
                 SELECT lead_id, max(consent_at) AS consented FROM records
                 WHERE created_at IS NULL AND consent_at IS NOT NULL
                   AND lead_id IN (SELECT lead_id FROM {leads})
                 GROUP BY lead_id) u USING (lead_id)"
        );
        self.scoring_sql_with(now, leads, &touch)
    }

    /// The scoring SQL with `touch` (lead_id, n records, sources, last_seen) in it.
    // Long because it is one SQL statement with the settings written in: split into
    // pieces, the CTEs would no longer read as the query DuckDB runs.
    fn scoring_sql_with(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        leads: &str,
        touch: &str,
    ) -> String {
        let s = self;
        let now_sql = format!("'{}'::TIMESTAMPTZ", now.to_rfc3339());
        let window_start = now - chrono::Duration::days(i64::from(s.engagement_window_days));
        let window_sql = format!("'{}'::TIMESTAMPTZ", window_start.to_rfc3339());
        format!(
            "CREATE OR REPLACE TEMP TABLE warmth AS
             WITH lp AS (SELECT lead_id, unnest(phones) AS v FROM {leads}),
                  le AS (SELECT lead_id, unnest(emails) AS v FROM {leads}),
                  touch AS ({touch}),
                  -- One event per file row, however many of the lead's contacts it names.
                  eng AS (
                    SELECT DISTINCT lead_id, kind, outcome, occurred_at, event_key FROM (
                      SELECT lp.lead_id, e.kind, e.outcome, e.occurred_at,
                             coalesce(e.source || '#' || e.source_row, e.engagement_id::VARCHAR) AS event_key
                      FROM engagements e JOIN lp ON e.phone_e164 = lp.v
                      UNION ALL
                      SELECT le.lead_id, e.kind, e.outcome, e.occurred_at,
                             coalesce(e.source || '#' || e.source_row, e.engagement_id::VARCHAR)
                      FROM engagements e JOIN le ON e.email = le.v)),
                  eng_pts AS (
                    -- Only the person's own positive acts refresh recency; our call
                    -- attempts that failed or were refused do not.
                    SELECT lead_id,
                      max(occurred_at) FILTER (WHERE kind <> 'call' OR outcome IN ('reached', 'callback'))
                          AS last_engaged,
                      least(count(*) FILTER (WHERE kind = 'visit') * {visit}, {visit_max})
                      + least(count(*) FILTER (WHERE kind = 'email_open') * {email_open}, {email_open_max})
                      + CASE WHEN count(*) FILTER (WHERE kind = 'reply') > 0 THEN {reply} ELSE 0 END
                      + CASE WHEN count(*) FILTER (WHERE kind = 'call' AND outcome IN ('reached', 'callback')) > 0
                             THEN {call_reached} ELSE 0 END
                      + CASE WHEN count(*) FILTER (WHERE kind = 'call' AND outcome = 'refused') > 0
                             THEN {call_refused} ELSE 0 END
                      + greatest(count(*) FILTER (WHERE kind = 'call' AND outcome = 'no_answer')
                                 * {call_no_answer}, {no_answer_min}) AS points
                    FROM eng
                    WHERE occurred_at <= {now_sql}
                      AND occurred_at > {window_sql}
                    GROUP BY lead_id),
                  parts AS (
                    SELECT l.lead_id,
                      CASE WHEN list_contains(l.origins, 'form') THEN {form}
                           WHEN list_contains(l.origins, 'purchased') THEN {purchased}
                           WHEN list_contains(l.origins, 'open') THEN {open} ELSE 0 END AS origin,
                      greatest(t.last_seen, e.last_engaged) AS last_touch_at,
                      least(greatest(coalesce(t.n, 1) - 1, 0) * {repeat}, {repeat_max})
                        + least(greatest(coalesce(t.sources, 1) - 1, 0) * {extra_source}, {sources_max})
                        AS frequency,
                      coalesce(e.points, 0) AS engagement,
                      (CASE WHEN l.phone_e164 IS NOT NULL THEN {valid_phone} ELSE 0 END)
                        + (CASE WHEN l.email IS NOT NULL THEN {valid_email} ELSE 0 END)
                        + (CASE WHEN l.last_name IS NOT NULL AND l.first_name IS NOT NULL
                                THEN {full_name} ELSE 0 END)
                        + (CASE WHEN l.company IS NOT NULL OR l.city IS NOT NULL
                                THEN {company_or_city} ELSE 0 END) AS completeness
                    FROM {leads} l LEFT JOIN touch t USING (lead_id) LEFT JOIN eng_pts e USING (lead_id)),
                  aged AS (
                    SELECT *, {recency_sql} AS recency
                    FROM parts)
             SELECT lead_id, origin, recency, frequency, engagement, completeness,
                    {score_sql} AS score, {tier_sql} AS tier, last_touch_at
             FROM aged",
            visit = s.visit,
            visit_max = s.visit_max,
            email_open = s.email_open,
            email_open_max = s.email_open_max,
            reply = s.reply,
            call_reached = s.call_reached,
            call_refused = s.call_refused,
            call_no_answer = s.call_no_answer,
            no_answer_min = s.no_answer_min,
            form = s.form,
            purchased = s.purchased,
            open = s.open,
            repeat = s.repeat,
            repeat_max = s.repeat_max,
            extra_source = s.extra_source,
            sources_max = s.sources_max,
            valid_phone = s.valid_phone,
            valid_email = s.valid_email,
            full_name = s.full_name,
            company_or_city = s.company_or_city,
            recency_sql = s.recency_sql("last_touch_at", &now_sql),
            score_sql = s.score_sql("origin + recency + frequency + engagement + completeness"),
            tier_sql = s.tier_sql(&s.score_sql(
                "origin + recency + frequency + engagement + completeness"
            )),
            leads = leads,
        )
    }

    /// SQL for the recency points of a last touch at `last_touch` as of `as_of` (SQL
    /// TIMESTAMPTZ expressions): the same formula as [`Self::recency_points`].
    pub fn recency_sql(&self, last_touch: &str, as_of: &str) -> String {
        format!(
            "CASE WHEN {last_touch} IS NULL THEN 0 ELSE
                round({recency} * pow(0.5, greatest(epoch(({as_of})::TIMESTAMP)
                      - epoch(({last_touch})::TIMESTAMP), 0) / 86400.0 / {half_life}))::INTEGER
             END",
            recency = self.recency,
            half_life = self.half_life_days,
        )
    }

    /// SQL for the score from the sum of the points: kept within 0–100.
    pub fn score_sql(&self, sum: &str) -> String {
        format!("greatest(0, least(100, {sum}))")
    }

    /// SQL for the tier of a score.
    pub fn tier_sql(&self, score: &str) -> String {
        format!(
            "CASE WHEN {score} >= {hot} THEN 'hot' WHEN {score} >= {warm} THEN 'warm' ELSE 'cold' END",
            hot = self.hot,
            warm = self.warm
        )
    }

    /// SQL reading a lead's warmth as of `as_of` from the points stored in `leads` (alias
    /// `l`): recency decays at read time, the other points are as the lead was last
    /// scored. (recency, score, tier.)
    pub fn read_sql(
        &self,
        l: &str,
        as_of: chrono::DateTime<chrono::Utc>,
    ) -> (String, String, String) {
        self.read_sql_at(l, &format!("'{}'::TIMESTAMPTZ", as_of.to_rfc3339()))
    }

    /// [`Self::read_sql`] as of the SQL expression `as_of` (`current_timestamp` in a view
    /// that decays warmth to whenever it is read).
    pub fn read_sql_at(&self, l: &str, as_of: &str) -> (String, String, String) {
        let recency = self.recency_sql(&format!("{l}.warmth_last_touch_at"), as_of);
        let sum = format!(
            "coalesce({l}.warmth_origin, 0) + ({recency}) + coalesce({l}.warmth_frequency, 0)
             + coalesce({l}.warmth_engagement, 0) + coalesce({l}.warmth_completeness, 0)"
        );
        let score = self.score_sql(&sum);
        let tier = self.tier_sql(&score);
        // A lead never scored has no warmth yet.
        let scored =
            |sql: &str| format!("CASE WHEN {l}.warmth_origin IS NULL THEN NULL ELSE {sql} END");
        (scored(&recency), scored(&score), scored(&tier))
    }
}

/// The points of one lead, signal by signal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarmthPoints {
    pub origin: i32,
    pub recency: i32,
    pub frequency: i32,
    pub engagement: i32,
    pub completeness: i32,
}

impl WarmthPoints {
    /// "form 30 · recent 22 · came back 5 · engaged 6 · complete 9": the call list's
    /// why-warm column, biggest signals first, zero ones left out.
    pub fn summary(&self) -> String {
        self.summary_in(["source", "recent", "came back", "engaged", "complete"])
    }

    /// [`Self::summary`] with these names for origin, recency, frequency, engagement and
    /// completeness (another language's words).
    pub fn summary_in(&self, names: [&str; 5]) -> String {
        let mut parts = [
            (names[0], self.origin),
            (names[1], self.recency),
            (names[2], self.frequency),
            (names[3], self.engagement),
            (names[4], self.completeness),
        ];
        parts.sort_by_key(|(_, p)| -p.abs());
        parts
            .iter()
            .filter(|(_, p)| *p != 0)
            .map(|(name, p)| format!("{name} {p:+}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What came of a call (call-result files). The words operators write for each are in
/// `data/call_outcomes.tsv`, read by [`crate::calls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Reached,
    NoAnswer,
    Refused,
    /// Asked to be called back (at a time, or as soon as may be): counts as reached.
    Callback,
    /// Asked not to be called again: a withdrawal of call consent and a suppression.
    DoNotCall,
    /// The number is not this person's: the number is suppressed for calls.
    WrongNumber,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 6] = [
        CallOutcome::Reached,
        CallOutcome::NoAnswer,
        CallOutcome::Refused,
        CallOutcome::Callback,
        CallOutcome::DoNotCall,
        CallOutcome::WrongNumber,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reached => "reached",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Refused => "refused",
            CallOutcome::Callback => "callback",
            CallOutcome::DoNotCall => "do_not_call",
            CallOutcome::WrongNumber => "wrong_number",
        }
    }

    /// The outcome named by its code (`no_answer`), as stored.
    pub fn from_code(code: &str) -> Option<CallOutcome> {
        CallOutcome::ALL.into_iter().find(|o| o.as_str() == code)
    }

    /// Of several outcomes in one row, the one that must win: a stop (asked not to call,
    /// wrong number) over anything else, then a request to call back, a refusal, a talk,
    /// and no answer last.
    pub fn strongest(outcomes: impl IntoIterator<Item = CallOutcome>) -> Option<CallOutcome> {
        outcomes.into_iter().max_by_key(|o| match o {
            CallOutcome::DoNotCall => 5,
            CallOutcome::WrongNumber => 4,
            CallOutcome::Callback => 3,
            CallOutcome::Refused => 2,
            CallOutcome::Reached => 1,
            CallOutcome::NoAnswer => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_tiers_follow_thresholds() {
        let s = WarmthSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.tier(60), "hot");
        assert_eq!(s.tier(59), "warm");
        assert_eq!(s.tier(34), "cold");
        // The maximum of every positive signal adds up to 100.
        let max = s.form
            + s.recency
            + s.repeat_max
            + s.sources_max
            + s.visit_max
            + s.email_open_max
            + s.reply
            + s.call_reached
            + s.valid_phone
            + s.valid_email
            + s.full_name
            + s.company_or_city;
        assert!(max >= 100, "{max}");
    }

    #[test]
    fn recency_halves_every_half_life() {
        let s = WarmthSettings::default();
        assert_eq!(s.recency_points(0.0), 25);
        assert_eq!(s.recency_points(30.0), 13);
        assert_eq!(s.recency_points(60.0), 6);
        assert_eq!(s.recency_points(365.0), 0);
        assert_eq!(
            s.recency_points(-3.0),
            25,
            "a touch dated tomorrow counts as today"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let s = WarmthSettings {
            warm: 80,
            hot: 70,
            ..WarmthSettings::default()
        };
        assert!(s.validate().unwrap_err().contains("warmth.warm"));
        let s = WarmthSettings {
            half_life_days: 0.0,
            ..WarmthSettings::default()
        };
        assert!(s.validate().unwrap_err().contains("half_life_days"));
    }

    #[test]
    fn summary_names_the_biggest_signals_first() {
        let p = WarmthPoints {
            origin: 30,
            recency: 22,
            frequency: 0,
            engagement: -15,
            completeness: 9,
        };
        assert_eq!(
            p.summary(),
            "source +30 · recent +22 · engaged -15 · complete +9"
        );
    }
}
