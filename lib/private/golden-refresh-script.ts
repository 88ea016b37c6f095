/**
 * The golden-template refresh, a bash script run by the official postgres image (psql, pg_dump,
 * pg_restore) as a one-off ECS task in the shared stack, nightly and on demand. The tests run the
 * same text against a real server.
 *
 * 1. Makes sure the NOLOGIN template owner exists (it owns the copied objects; each branch copy
 *    hands them to its own role) and that the admin may act as it.
 *    Branch roles may connect to their own database only: CONNECT is revoked from PUBLIC on the
 *    source (the shared app's, which connects as its owner) and on the maintenance database.
 * 2. Drops the leftovers of an interrupted refresh (`<golden>_next`, `<golden>_old`).
 * 3. Builds `<golden>_next` beside the live golden template: `pg_dump -Fc --no-owner
 *    --no-privileges <source> | pg_restore --role=<owner>` into a database whose `public` schema
 *    the owner owns, then ANALYZE.
 * 4. Closes it: ALLOW_CONNECTIONS false, ends the restore's sessions, IS_TEMPLATE true.
 * 5. Swaps it in, in one transaction under the template lock taken exclusively (branch creates
 *    hold it shared, so a create sees the old golden template or the new one, whole): the old one
 *    is renamed `<golden>_old`, the new one `<golden>`.
 * 6. Drops the old one.
 * A failure before the swap leaves the live golden template as it was; `set -e` stops the script.
 * A refresh that finds another one running (by its sessions' application name) stops at once;
 * two that start together both stop.
 */
// String.raw keeps psql's backslash commands as they are. No `${` braces: CloudFormation Validate
// (E1029) would take them for Fn::Sub parameters.
export const GOLDEN_REFRESH_SCRIPT = String.raw`set -euo pipefail
for v in SOURCE_DATABASE TEMPLATE_DATABASE TEMPLATE_OWNER LOCK_CLASS LOCK_OBJECT; do
  [ -n "$(printenv "$v")" ] || { echo "$v is not set" >&2; exit 2; }
done
maintenance=$(printenv MAINTENANCE_DATABASE || echo postgres)
# Every session of this refresh (psql, pg_dump, pg_restore) carries this name, and one session is
# held open from start to end, so a second refresh always sees the first.
export PGAPPNAME="cdk-multi-staging golden refresh $$-$RANDOM"

next="$TEMPLATE_DATABASE"_next
old="$TEMPLATE_DATABASE"_old
say() { printf '{"level":"info","message":"%s","template":"%s"}\n' "$1" "$TEMPLATE_DATABASE"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$maintenance" -v golden="$TEMPLATE_DATABASE" -v next="$next" -v old="$old" -v owner="$TEMPLATE_OWNER" -v source="$SOURCE_DATABASE" -v lock_class="$LOCK_CLASS" -v lock_object="$LOCK_OBJECT" "$@"; }
drop_database() {
  sql -v name="$1" <<'SQL'
SELECT format('ALTER DATABASE %I WITH IS_TEMPLATE false ALLOW_CONNECTIONS false', :'name') FROM pg_database WHERE datname = :'name' \gexec
SELECT format('DROP DATABASE %I WITH (FORCE)', :'name') FROM pg_database WHERE datname = :'name' \gexec
SQL
}
say "refresh started"
echo 'SELECT 1 \watch 5' | psql -X -q -d "$maintenance" >/dev/null 2>&1 &
holder=$!
trap 'kill $holder 2>/dev/null || true' EXIT
for attempt in $(seq 1 100); do
  held=$(sql -t -A -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$PGAPPNAME' AND pid <> pg_backend_pid()")
  [ "$held" != "0" ] && break
  sleep 0.1
done
others=$(sql -t -A -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'cdk-multi-staging golden refresh %' AND application_name <> '$PGAPPNAME'")
if [ "$others" != "0" ]; then
  echo "another refresh of $TEMPLATE_DATABASE is running ($others sessions); this one stops and changes nothing" >&2
  exit 3
fi
sql <<'SQL'
SELECT format('CREATE ROLE %I NOLOGIN', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('GRANT %I TO CURRENT_USER', :'owner') WHERE NOT pg_has_role(CURRENT_USER, :'owner', 'MEMBER') \gexec
SELECT format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', d) FROM unnest(ARRAY[:'source', current_database()]) d \gexec
SQL
drop_database "$next"
drop_database "$old"
sql <<'SQL'
SELECT format('CREATE DATABASE %I', :'next') \gexec
SELECT format('GRANT CREATE, CONNECT, TEMPORARY ON DATABASE %I TO %I', :'next', :'owner') \gexec
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$next" -v owner="$TEMPLATE_OWNER" <<'SQL'
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
SQL
say "copying the source database"
pg_dump -Fc --no-owner --no-privileges -d "$SOURCE_DATABASE" | pg_restore --no-owner --no-privileges --exit-on-error --role="$TEMPLATE_OWNER" -d "$next"
psql -X -q -v ON_ERROR_STOP=1 -d "$next" -c 'ANALYZE'
sql <<'SQL'
SELECT format('ALTER DATABASE %I WITH ALLOW_CONNECTIONS false', :'next') \gexec
SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE datname = :'next' AND pid <> pg_backend_pid() \gset
SELECT format('ALTER DATABASE %I WITH IS_TEMPLATE true', :'next') \gexec
SELECT format('COMMENT ON DATABASE %I IS %L', :'next', 'cdk-multi-staging golden template of ' || :'source' || ', refreshed ' || now()) \gexec
SQL
say "swapping in the new golden template"
sql <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(:lock_class, :lock_object) AS locked \gset
SELECT format('ALTER DATABASE %I WITH IS_TEMPLATE false', :'golden') FROM pg_database WHERE datname = :'golden' \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'golden', :'old') FROM pg_database WHERE datname = :'golden' \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'next', :'golden') \gexec
COMMIT;
SQL
drop_database "$old"
say "refresh done"
`;
