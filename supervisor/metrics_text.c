/*
 * metrics_text: the Prometheus text exposition of the supervisor's view
 * (children's last status payloads, their restart state, and a stat of
 * each database's files), for GET /metrics.
 *
 * Names: Litestream v0.3.13's where the meaning is the same (format doc
 * §8), so existing dashboards keep working; walship_* for the rest. Every
 * figure comes from a payload another process sent: a value is used only
 * when it parses whole as a finite number, else the series is left out.
 * Counters restart from zero with the process that keeps them, which
 * Prometheus' rate() treats as a reset.
 */
#include "sv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <event2/buffer.h>

#include "config.h"

struct family {
	const char *name;
	const char *type;
	const char *help;
	enum sv_role role;
	const char *key;	/* in the payload */
	const char *label;	/* of its samples, or NULL; families of one
				   name follow each other, one per label */
};

static const struct family families[] = {
	{ "litestream_total_wal_bytes", "counter",
	  "Bytes copied from the WAL into the shadow log.", SV_WALREADER,
	  "wal_bytes", NULL },
	{ "litestream_shadow_wal_index", "gauge",
	  "Current shadow WAL index.", SV_WALREADER, "index", NULL },
	{ "litestream_shadow_wal_size", "gauge",
	  "Bytes of the shadow log on disk.", SV_WALREADER, "shadow_bytes",
	  NULL },
	{ "litestream_sync_count", "counter",
	  "Passes of the walreader that copied the WAL.", SV_WALREADER,
	  "syncs", NULL },
	{ "litestream_checkpoint_count", "counter",
	  "Checkpoints that completed.", SV_WALREADER, "checkpoints_truncate",
	  "mode=\"TRUNCATE\"" },
	{ "litestream_checkpoint_count", "counter",
	  "Checkpoints that completed.", SV_WALREADER, "checkpoints_restart",
	  "mode=\"RESTART\"" },
	{ "litestream_checkpoint_count", "counter",
	  "Checkpoints that completed.", SV_WALREADER, "checkpoints_passive",
	  "mode=\"PASSIVE\"" },
	{ "litestream_checkpoint_seconds", "counter",
	  "Time spent in checkpoints that completed.", SV_WALREADER,
	  "checkpoint_seconds_truncate", "mode=\"TRUNCATE\"" },
	{ "litestream_checkpoint_seconds", "counter",
	  "Time spent in checkpoints that completed.", SV_WALREADER,
	  "checkpoint_seconds_restart", "mode=\"RESTART\"" },
	{ "litestream_checkpoint_seconds", "counter",
	  "Time spent in checkpoints that completed.", SV_WALREADER,
	  "checkpoint_seconds_passive", "mode=\"PASSIVE\"" },
	{ "walship_checkpoint_busy_total", "counter",
	  "Checkpoints that gave up on a reader or on the locks.",
	  SV_WALREADER, "checkpoint_busy", NULL },
	{ "walship_generations_total", "counter",
	  "Generations started by the running walreader.", SV_WALREADER,
	  "generations", NULL },
	{ "walship_shadow_cap_events_total", "counter",
	  "Replicas marked broken at the shadow-max-size cap.", SV_WALREADER,
	  "replicas_broken", NULL },
	{ "walship_last_sync_timestamp_seconds", "gauge",
	  "Unix time of the walreader's last pass.", SV_WALREADER,
	  "last_sync_unix", NULL },
	{ "litestream_replica_wal_index", "gauge",
	  "WAL index the replica holds up to.", SV_UPLOADER, "index", NULL },
	{ "litestream_replica_wal_offset", "gauge",
	  "WAL offset the replica holds up to.", SV_UPLOADER, "offset",
	  NULL },
	{ "litestream_replica_wal_bytes", "counter",
	  "Bytes written to the replica.", SV_UPLOADER, "bytes", NULL },
	{ "walship_replica_lag_seconds", "gauge",
	  "How long the replica has been behind the shadow log (0: current).",
	  SV_UPLOADER, "lag_seconds", NULL },
	{ "walship_replica_uploads_total", "counter",
	  "Objects written to the replica.", SV_UPLOADER, "uploads", NULL },
	{ "walship_replica_upload_errors_total", "counter",
	  "Failed upload passes (each is retried with a backoff).",
	  SV_UPLOADER, "upload_errors", NULL },
	{ "walship_replica_last_upload_timestamp_seconds", "gauge",
	  "Unix time of the last object written (0: none yet).", SV_UPLOADER,
	  "last_upload_unix", NULL },
	{ "walship_s3_retries_total", "counter",
	  "S3 requests retried.", SV_UPLOADER, "s3_retries", NULL },
	{ "walship_s3_errors_total", "counter",
	  "S3 operations that failed after their retries.", SV_UPLOADER,
	  "s3_errors", NULL },
	{ "walship_retention_passes_total", "counter",
	  "Retention passes the compactor made.", SV_COMPACTOR,
	  "retention_passes", NULL },
	{ "walship_retention_errors_total", "counter",
	  "Retention passes that failed.", SV_COMPACTOR, "retention_errors",
	  NULL },
	{ "walship_retention_objects_deleted_total", "counter",
	  "Replica objects deleted by retention.", SV_COMPACTOR,
	  "objects_deleted", NULL },
	{ "walship_retention_generations_deleted_total", "counter",
	  "Whole generations deleted by retention.", SV_COMPACTOR,
	  "generations_deleted", NULL },
	{ "walship_validations_total", "counter",
	  "Replica validations run.", SV_COMPACTOR, "validations", NULL },
	{ "walship_validation_errors_total", "counter",
	  "Validations that found a replica not matching the database.",
	  SV_COMPACTOR, "validation_errors", NULL },
};

/* S3 request counters: payload key, operation label. */
static const char *const s3_ops[][2] = {
	{ "s3_get", "GET" }, { "s3_put", "PUT" }, { "s3_list", "LIST" },
	{ "s3_delete", "DELETE" }, { "s3_head", "HEAD" },
};

/* A label value in the exposition format's escapes. */
static void
add_escaped(struct evbuffer *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

/* {db="…"[,name="…"][,EXTRA]}: EXTRA is trusted text or NULL. */
static void
add_labels(struct evbuffer *out, const struct child *c, const char *extra)
{
	if (c->role == SV_COMPACTOR) {	/* serves every database */
		evbuffer_add_printf(out, "{%s}", extra != NULL ? extra : "");
		return;
	}
	evbuffer_add_printf(out, "{db=\"");
	add_escaped(out, c->db_path);
	evbuffer_add_printf(out, "\"");
	if (c->role == SV_UPLOADER) {
		evbuffer_add_printf(out, ",name=\"");
		add_escaped(out, c->replica_name);
		evbuffer_add_printf(out, "\"");
	}
	if (extra != NULL)
		evbuffer_add_printf(out, ",%s", extra);
	evbuffer_add_printf(out, "}");
}

/* KEY of C's payload as a finite number; false when absent or bad. */
static bool
status_number(const struct child *c, const char *key, double *v)
{
	char val[64], *end;

	if (c->status_len == 0 || sv_status_value((const uint8_t *)c->status,
	    c->status_len, key, val, sizeof(val)) < 0 || val[0] == '\0')
		return false;
	errno = 0;
	*v = strtod(val, &end);
	return *end == '\0' && errno == 0 && isfinite(*v);
}

static void
header(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
sample(struct evbuffer *out, const char *name, const struct child *c,
    const char *extra, double v)
{
	evbuffer_add_printf(out, "%s", name);
	add_labels(out, c, extra);
	evbuffer_add_printf(out, " %.15g\n", v);
}

static void
render_families(struct evbuffer *out, struct child *const *children,
    size_t n)
{
	const char *headed = "";	/* the family whose header is out */

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		const struct family *fm = &families[f];
		double v;

		for (size_t i = 0; i < n; i++) {
			const struct child *c = children[i];
			if (c->role != fm->role || !status_number(c, fm->key, &v))
				continue;
			if (strcmp(headed, fm->name) != 0)
				header(out, fm->name, fm->type, fm->help);
			headed = fm->name;
			sample(out, fm->name, c, fm->label, v);
		}
	}
}

static void
render_s3(struct evbuffer *out, struct child *const *children, size_t n)
{
	double total[sizeof(s3_ops) / sizeof(s3_ops[0])] = { 0 };
	double up = 0, v;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const struct child *c = children[i];
		if (c->role != SV_UPLOADER || !status_number(c, "s3_put", &v))
			continue;
		if (!any)
			header(out, "walship_s3_requests_total", "counter",
			    "S3 requests per replica and operation, retries "
			    "included.");
		any = true;
		for (size_t k = 0; k < sizeof(s3_ops) / sizeof(s3_ops[0]);
		    k++) {
			char extra[64];
			if (!status_number(c, s3_ops[k][0], &v))
				continue;
			total[k] += v;
			snprintf(extra, sizeof(extra), "operation=\"%s\"",
			    s3_ops[k][1]);
			sample(out, "walship_s3_requests_total", c, extra, v);
		}
		if (status_number(c, "s3_bytes_up", &v))
			up += v;
	}
	if (!any)
		return;
	/* Litestream's: summed over the replicas, no db label. */
	header(out, "litestream_replica_operation_total", "counter",
	    "S3 requests by operation.");
	for (size_t k = 0; k < 4; k++)
		evbuffer_add_printf(out, "litestream_replica_operation_total"
		    "{operation=\"%s\",replica_type=\"s3\"} %.15g\n",
		    s3_ops[k][1], total[k]);
	header(out, "litestream_replica_operation_bytes", "counter",
	    "Bytes sent to S3.");
	evbuffer_add_printf(out, "litestream_replica_operation_bytes"
	    "{operation=\"PUT\",replica_type=\"s3\"} %.15g\n", up);
}

/* Sizes the supervisor reads itself: the database, its -wal, and the free
 * space where the shadow log lives. */
/* The meta directory of the database at PATH in CFG, or NULL. */
static const char *
meta_of(const struct cfg *cfg, const char *path)
{
	for (size_t d = 0; cfg != NULL && d < cfg->ndbs; d++)
		if (strcmp(cfg->dbs[d].path, path) == 0)
			return cfg->dbs[d].meta_path;
	return NULL;
}

static void
render_files(struct evbuffer *out, struct child *const *children, size_t n,
    const struct cfg *cfg)
{
	static const char *const names[3][2] = {
		{ "litestream_db_size", "Database file size in bytes." },
		{ "litestream_wal_size", "WAL file size in bytes." },
		{ "walship_shadow_free_bytes",
		  "Free bytes on the file system of the shadow log." },
	};

	for (int k = 0; k < 3; k++) {
		bool said = false;
		for (size_t i = 0; i < n; i++) {
			const struct child *c = children[i];
			char path[4200];
			struct stat st;
			struct statvfs vfs;
			double v;

			if (c->role != SV_WALREADER)
				continue;
			if (k == 2) {
				const char *meta = meta_of(cfg, c->db_path);
				if (meta == NULL || statvfs(meta, &vfs) < 0)
					continue;
				v = (double)vfs.f_bavail * (double)vfs.f_frsize;
			} else {
				snprintf(path, sizeof(path), "%s%s", c->db_path,
				    k == 1 ? "-wal" : "");
				if (stat(path, &st) < 0)
					continue;
				v = (double)st.st_size;
			}
			if (!said)
				header(out, names[k][0], "gauge", names[k][1]);
			said = true;
			sample(out, names[k][0], c, NULL, v);
		}
	}
}

static void
render_components(struct evbuffer *out, struct child *const *children,
    size_t n)
{
	static const char *const names[3][2] = {
		{ "walship_component_up",
		  "1 when the process is running and reported ready." },
		{ "walship_component_failed",
		  "1 when the supervisor reports the process as failed." },
		{ "walship_component_restarts_total",
		  "Times the process was started again." },
	};

	for (int k = 0; k < 3; k++) {
		header(out, names[k][0], k == 2 ? "counter" : "gauge",
		    names[k][1]);
		for (size_t i = 0; i < n; i++) {
			const struct child *c = children[i];
			char extra[64];
			double v = k == 0 ? c->fsm.state == CHILD_UP :
			    k == 1 ? c->fsm.state == CHILD_FAILED :
			    (double)c->fsm.restarts;

			snprintf(extra, sizeof(extra), "component=\"%s\"",
			    sv_role_name(c->role));
			sample(out, names[k][0], c, extra, v);
		}
	}
}

int
sv_metrics_render(struct evbuffer *out, struct child *const *children,
    size_t n, const struct cfg *cfg)
{
	render_files(out, children, n, cfg);
	render_families(out, children, n);
	render_s3(out, children, n);
	render_components(out, children, n);
	return 0;
}
