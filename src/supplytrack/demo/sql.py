"""The SQL that writes task instances and their history, set-based, on both engines.

Every instance is decided by integer arithmetic on its assignment, its template and their
random factors (drawn from the seed in Python), so the database does the work of the big
tables while Python holds only the small plan:

- an instance exists exactly for the applicable templates of its assignment (the fan-out
  rule: no required capability, or the supplier has it);
- some are moved off the canonical date, within the template's slack, so that a dependent
  is never due before its prerequisite;
- its status follows ``q``, the days by which the supplier's usual pace has carried it past
  its due date: done long ago, in review lately, in work soon, not started later on. A
  dependent is due at least 14 days after its prerequisites and its review is short enough
  (schedule.py), so whatever was submitted has its prerequisites done, as the status
  machine demands;
- its story (its history) is one of the paths of ``vocabulary.PATHS`` for its status, spread
  between when work started and its last change, never later than the load's 'now'.

Dates are days and instants seconds since 1970-01-01 until a column is written (Dialect).
"""

from __future__ import annotations

from supplytrack.demo import vocabulary as words
from supplytrack.demo.dialect import Dialect
from supplytrack.demo.plan import NOISE_MODULUS

ACTOR = "system:demo-data"
# Shares (percent) of instances moved later and earlier than their template's date.
MOVED_LATER, MOVED_EARLIER = 6, 3
# Status bands by q: done from DONE_FROM, in review for the template's review_days before
# that, in work for WORK_DAYS before that, not started before.
DONE_FROM, WORK_DAYS = 1, 60
# Shares (percent) inside a band: waived among done, rejected among in review, blocked among
# in work, waived among not started.
WAIVED_DONE, REJECTED_REVIEW, BLOCKED_WORK, WAIVED_EARLY = 4, 30, 12, 1

# The columns of the temporary table demo_story, all integers but status.
STORY_COLUMNS = (
    *("instance_id", "sp_id", "project_id", "supplier_id", "template_id", "status", "bucket"),
    *("canon_dn", "due_dn", "shift", "n_steps", "submit_step", "start_s", "end_s", "created_s"),
    *("pick", "hist_first"),
)


def _noise(multiplier: int) -> str:
    """A uniform pseudo-random number in 1..2^31-2 of (assignment, template, multiplier).

    The product of the two random factors modulo a prime: one multiplication per number,
    and below 2^62, so it never overflows a BIGINT (nor turns into a float on SQLite).
    """
    return f"((a.noise * t.noise) % {NOISE_MODULUS} * {multiplier} % {NOISE_MODULUS})"


_STATUS = f"""CASE
    WHEN q >= {DONE_FROM} THEN
        CASE WHEN coin < {WAIVED_DONE} THEN 'WAIVED' ELSE 'APPROVED' END
    WHEN q >= -review_days THEN
        CASE WHEN coin < {REJECTED_REVIEW} THEN 'REJECTED' ELSE 'SUBMITTED' END
    WHEN q >= -review_days - {WORK_DAYS} THEN
        CASE WHEN coin < {BLOCKED_WORK} THEN 'BLOCKED' ELSE 'IN_PROGRESS' END
    WHEN coin < {WAIVED_EARLY} THEN 'WAIVED' ELSE 'NOT_STARTED' END"""

# h1: jitter (h1 % 4), coin, path bucket, lead time; h2: day and second of the last change,
# move reason; h3: whether and how far the instance was moved, second work started.
# end_s is the last change (the approval of done work, else some recent day) and start_s the
# start of work (some weeks before the due date); both are kept after the assignment and
# before its as-of moment, with room for every step of the path.
_STAGE = """INSERT INTO demo_story ({columns})
WITH cand AS (
    SELECT a.sp_id, a.project_id, a.supplier_id, t.template_id, t.sequence,
           t.due_dn AS canon_dn, t.slack_before, t.slack_after, t.review_days,
           a.pace, a.asof_dn, a.asof_s, a.created_s,
           {h1} AS h1, {h2} AS h2, {h3} AS h3
    FROM demo_assignment_plan a
    JOIN demo_template_plan t ON t.project_id = a.project_id
    WHERE a.sp_id BETWEEN :first_sp AND :last_sp
      AND (t.capability IS NULL OR EXISTS (
          SELECT 1 FROM supplier_capabilities c
          WHERE c.supplier_id = a.supplier_id AND c.capability = t.capability))
), moved AS (
    SELECT cand.*, CASE
        WHEN h3 % 100 < {later} AND slack_after > 0 THEN 1 + (h3 / 100) % slack_after
        WHEN h3 % 100 < {moved} AND slack_before > 0 THEN -1 - (h3 / 100) % slack_before
        ELSE 0 END AS shift
    FROM cand
), graded AS (
    SELECT moved.*, canon_dn + shift AS due_dn, (h1 / 4) % 100 AS coin,
           asof_dn - canon_dn - shift - pace - h1 % 4 AS q
    FROM moved
), statused AS (
    SELECT graded.*, {status} AS status, (h1 / 400) % {buckets} AS bucket,
           :first_id - 1 + ROW_NUMBER() OVER (ORDER BY sp_id, sequence, template_id)
               AS instance_id
    FROM graded
), ended AS (
    SELECT s.*, p.n_steps, p.submit_step, {greatest}({least}(
               (CASE WHEN q >= {done} THEN due_dn + pace + h1 % 4
                     WHEN s.status IN ('SUBMITTED', 'REJECTED') THEN asof_dn - 1 - h2 % 8
                     ELSE asof_dn - 1 - h2 % 30 END) * 86400 + 28800 + (h2 / 30) % 36000,
               asof_s - 3600),
           created_s + 7200 * (p.n_steps + 1)) AS end_s
    FROM statused s JOIN demo_path p ON p.status = s.status AND p.bucket = s.bucket
), story AS (
    SELECT ended.*, {least}({greatest}({least}(
               (due_dn - 14 - (h1 / 40000) % 40) * 86400 + 28800 + (h3 / 3000) % 36000,
               end_s - n_steps * 172800),
           created_s + 3600), end_s - 3600 * n_steps) AS start_s,
           (h2 / 1080000) % {reasons} AS pick
    FROM ended
), counted AS (
    SELECT story.*, n_steps + CASE WHEN shift <> 0 THEN 1 ELSE 0 END AS n_history
    FROM story
)
SELECT {columns} FROM (
    SELECT counted.*, :first_history_id - n_history
               + CAST(SUM(n_history) OVER (ORDER BY instance_id) AS BIGINT) AS hist_first
    FROM counted
) numbered ORDER BY instance_id"""

_INSTANCES = """INSERT INTO task_instances (
    id, supplier_project_id, project_id, supplier_id, task_template_id, status, actual_due,
    submitted_at, completed_at, notes, version, created_at, updated_at)
SELECT instance_id, sp_id, project_id, supplier_id, template_id, status, {actual_due},
       CASE WHEN submit_step > 0 THEN {submitted_at} END,
       CASE WHEN status IN ('APPROVED', 'WAIVED') THEN {end_at} END,
       NULL, 1 + n_steps + CASE WHEN shift <> 0 THEN 1 ELSE 0 END,
       {created_at}, {updated_at}
FROM demo_story ORDER BY instance_id"""

# Step 0 of every path stands for the due-date move: it happened first (at start_s) and
# only to moved instances. Ids run on from the instance's hist_first.
_HISTORY = """INSERT INTO task_instance_history (
    id, task_instance_id, field, old_value, new_value, changed_at, actor_id, actor, reason,
    source, bulk_operation_id, request_id, reason_code)
SELECT s.hist_first + st.step - CASE WHEN s.shift <> 0 THEN 0 ELSE 1 END, s.instance_id,
       st.field,
       CASE WHEN st.step = 0 THEN {canonical_iso} ELSE st.old_value END,
       CASE WHEN st.step = 0 THEN {actual_iso} ELSE st.new_value END,
       {changed_at}, NULL, '{actor}', COALESCE(r.reason, st.reason), 'IMPORT', NULL, NULL,
       r.reason_code
FROM demo_story s
JOIN demo_step st ON st.status = s.status AND st.bucket = s.bucket
 AND (st.step > 0 OR s.shift <> 0)
LEFT JOIN demo_reason r ON st.step = 0 AND r.n = s.pick
 AND r.kind = CASE WHEN s.shift > 0 THEN 'LATER' ELSE 'EARLIER' END
ORDER BY 1"""


def _step_at(step: str) -> str:
    """When step ``step`` of ``n_steps`` happened: evenly spread over start_s..end_s."""
    return f"(end_s - (end_s - start_s) * (n_steps - {step}) / n_steps)"


def stage_stories(dialect: Dialect) -> str:
    """INSERT ... SELECT of one chunk's stories.

    Parameters: the assignments :first_sp..:last_sp, instance ids from :first_id, history ids
    from :first_history_id.
    """
    return _STAGE.format(
        columns=", ".join(STORY_COLUMNS),
        h1=_noise(1),
        h2=_noise(48271),
        h3=_noise(69621),
        later=MOVED_LATER,
        moved=MOVED_LATER + MOVED_EARLIER,
        status=_STATUS,
        buckets=words.PATH_BUCKETS,
        done=DONE_FROM,
        least=dialect.least,
        greatest=dialect.greatest,
        reasons=words.MOVE_REASON_COUNT,
    )


def insert_instances(dialect: Dialect) -> str:
    """INSERT ... SELECT of the staged task instances."""
    updated = "CASE WHEN n_steps > 0 THEN end_s WHEN shift <> 0 THEN start_s ELSE created_s END"
    return _INSTANCES.format(
        actual_due=dialect.day("due_dn"),
        submitted_at=dialect.instant(_step_at("submit_step")),
        end_at=dialect.instant("end_s"),
        created_at=dialect.instant("created_s"),
        updated_at=dialect.instant(updated),
    )


def insert_history(dialect: Dialect) -> str:
    """INSERT ... SELECT of the staged instances' history."""
    return _HISTORY.format(
        canonical_iso=dialect.iso_day("s.canon_dn"),
        actual_iso=dialect.iso_day("s.due_dn"),
        changed_at=dialect.instant(
            f"CASE WHEN st.step = 0 THEN start_s ELSE {_step_at('st.step')} END"
        ),
        actor=ACTOR,
    )
