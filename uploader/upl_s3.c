/*
 * upl_s3: an uploader's S3 replica, on the uploader's own event loop
 * through the asynchronous S3 client (s3/s3client.h). Nothing here waits
 * for the network: each object write and each request of the start-up
 * position search is started, and its completion callback (from the loop)
 * carries the work on. One operation is in flight at a time.
 *
 * A WAL segment is compressed as the file replica compresses it (the same
 * LZ4 writer, the same shadow bytes, upl_feed_segment), a bounded slice
 * per loop pass so a large index never holds the loop, into a spool
 * (upl_spool.c: memory up to UPL_S3_SPOOL_MEM, an unnamed file in
 * META/walship past it); then one PUT from memory, or put_stream from the
 * file (a multipart upload above the client's threshold, with its fixed
 * part buffers). A snapshot is streamed from the walreader's .lz4 file.
 * Memory does not depend on the size of any object.
 *
 * Object names are functions of the step (rule 5), so a write repeated
 * after a failure or a crash replaces the same key. The caller advances,
 * persists and ACKs the position only after the completion reported
 * success.
 *
 * With an age: block (format doc §1.5) every object is age(lz4(data)):
 * the LZ4 writer's output goes through the age writer into the spool, a
 * snapshot file is encrypted as the client pulls it (its encrypted size
 * is known in advance), and the newest segment is decrypted as it
 * downloads. Only recipients are loaded to write; identities only when
 * the position search needs to read a segment.
 *
 * The start-up position (format doc §3.3): LIST generations/G/snapshots/,
 * LIST generations/G/wal/ (both with delimiter '/'), and, unless the
 * position file is confirmed by them, GET the newest segment, decompressed
 * as it downloads only to count its length. Nothing is listed again after
 * that: the position moves with our own successful PUTs.
 *
 * A store whose listing lags behind its writes (eventual consistency) can
 * list nothing of a generation we just started. Before the position file
 * is disbelieved for that, a HEAD of the generation's snapshot (the one
 * the local shadow state names) asks the store directly; if the object is
 * there, the listing lags and the file holds.
 */
#include "upl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "age.h"
#include "age_client.h"
#include "client.h"
#include "config.h"
#include "layout.h"
#include "log.h"
#include "lz4frame.h"
#include "s3client.h"

#define KEY_LEN 320	/* generations/<16>/snapshots|wal/<name> and room */

enum find_phase {
	FIND_NONE = 0,
	FIND_SNAPSHOTS,
	FIND_WAL,
	FIND_SEGMENT,
	FIND_HEAD,
};

struct upl_s3 {
	struct upl *u;
	struct s3client *c;
	char bucket[128];
	char prefix[1100];		/* cleaned, for names in messages */
	char spool_dir[4200];		/* META/walship */
	struct event *slice;		/* the next compression slice */

	/* The object being written. */
	bool busy;
	struct upl_step step;
	char gen[UPL_GEN_SIZE];
	char key[KEY_LEN];		/* relative to the prefix */
	struct lz4frame_writer *lz;
	struct age_writer *aw;		/* between LZ and the spool (age) */
	struct age_encsrc *enc;		/* a snapshot, encrypted (age) */
	struct upl_spool spool;
	int shadow_fd;
	uint64_t off;			/* next shadow byte to compress */
	int snap_fd;
	uint64_t size;			/* of the body being PUT */
	int read_errno;			/* a body read failed: local */
	char read_err[256];

	/* The start-up position search. */
	enum find_phase find;
	char fgen[UPL_GEN_SIZE];
	bool have_file;
	struct position file;
	struct upl_scan scan;
	struct upl_lz4count count;
	bool count_open;
	struct age_decryptor *dec;	/* the newest segment (age) */

	/* age: recipients from the start, identities once needed. */
	bool age;
	bool have_identities;
	struct age_keys keys;
	char dir[KEY_LEN];		/* the directory being listed */
};

/* ---- helpers ----------------------------------------------------------- */

/* snprintf for messages, which may be cut short. */
__attribute__((format(printf, 3, 4))) static void
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void
format_err(const struct s3_result *res, char *buf, size_t len)
{
	if (res->err != NULL)
		s3_error_format(res->err, buf, len);
	else
		snprintf(buf, len, "unknown S3 failure");
}

const char *
upl_s3_obj_name(const struct upl *u, const struct replica_obj *o, char *buf,
    size_t len)
{
	const struct upl_s3 *s3 = u->s3;
	char key[1500];
	int rc = o->type == REPLICA_OBJ_SNAPSHOT ?
	    layout_snapshot_path(key, sizeof(key), s3->prefix, o->gen,
		o->index) :
	    layout_wal_path(key, sizeof(key), s3->prefix, o->gen, o->index,
		o->offset);
	if (rc < 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "s3://%s/%s", s3->bucket, key);
	return buf;
}

const struct s3client_stats *
upl_s3_stats(const struct upl *u)
{
	return s3client_stats(u->s3->c);
}

/* Drops what the object being written holds. */
static void
job_clear(struct upl_s3 *s3)
{
	if (s3->lz != NULL)
		lz4frame_writer_free(s3->lz);
	s3->lz = NULL;
	age_writer_free(s3->aw);
	s3->aw = NULL;
	age_encsrc_free(s3->enc);
	s3->enc = NULL;
	if (s3->shadow_fd >= 0)
		close(s3->shadow_fd);
	s3->shadow_fd = -1;
	if (s3->snap_fd >= 0)
		close(s3->snap_fd);
	s3->snap_fd = -1;
	upl_spool_reset(&s3->spool);
	s3->read_errno = 0;
	s3->read_err[0] = '\0';
	s3->busy = false;
}

/* The object's write ended: clean up, then tell upl_sync. */
static void
job_end(struct upl_s3 *s3, int rc, int e, enum upl_fault f, uint64_t bytes,
    const char *err)
{
	struct upl *u = s3->u;

	job_clear(s3);
	upl_step_end(u, rc, e, f, bytes, err);
}

/* ---- the object writes --------------------------------------------------- */

static void
put_done(const struct s3_result *res, void *arg)
{
	struct upl_s3 *s3 = arg;
	char err[1600];

	if (res->status == 0) {
		job_end(s3, 0, 0, UPL_FAULT_NONE, s3->size, "");
		return;
	}
	if (s3->read_errno != 0) {
		/* Our own file (a snapshot, the spool) failed, not S3. */
		int e = s3->read_errno;
		snprintf(err, sizeof(err), "%s", s3->read_err);
		job_end(s3, -1, e, UPL_FAULT_LOCAL, 0, err);
		return;
	}
	format_err(res, err, sizeof(err));
	job_end(s3, -1, res->err != NULL ? res->err->errnum : EIO,
	    UPL_FAULT_REPLICA, 0, err);
}

static ssize_t
spool_read(void *buf, size_t len, void *arg)
{
	struct upl_s3 *s3 = arg;
	ssize_t n = upl_spool_read(&s3->spool, buf, len);

	if (n < 0) {
		s3->read_errno = errno;
		say(s3->read_err, sizeof(s3->read_err), "reading the "
		    "spooled segment %s back: %s", s3->key, strerror(errno));
	}
	return n;
}

static ssize_t
snap_read(void *buf, size_t len, void *arg)
{
	struct upl_s3 *s3 = arg;
	ssize_t n;

	if (s3->enc != NULL) {
		n = age_encsrc_read(s3->enc, buf, len);
		if (n < 0) {
			s3->read_errno = errno;
			say(s3->read_err, sizeof(s3->read_err), "snapshot "
			    "file of %s: %s", s3->key,
			    age_encsrc_error(s3->enc));
			return -1;
		}
	} else {
		do {
			n = read(s3->snap_fd, buf, len);
		} while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		s3->read_errno = errno;
		say(s3->read_err, sizeof(s3->read_err), "snapshot file "
		    "of %s: %s", s3->key, strerror(errno));
	} else if (n == 0) {
		/* Shorter than when it was opened: not ours to trust. */
		s3->read_errno = EIO;
		say(s3->read_err, sizeof(s3->read_err), "snapshot file "
		    "of %s: shorter than its size", s3->key);
		return -1;
	}
	return n;
}

/* The snapshot file's plaintext, for the age encryptor. */
static ssize_t
snap_plain(void *arg, void *buf, size_t len)
{
	struct upl_s3 *s3 = arg;

	return read(s3->snap_fd, buf, len);
}

static int
spool_sink(void *arg, const void *buf, size_t len)
{
	struct upl_s3 *s3 = arg;

	if (upl_spool_write(&s3->spool, buf, len) < 0) {
		s3->read_errno = errno;
		say(s3->read_err, sizeof(s3->read_err), "spooling "
		    "segment %s in %s: %s", s3->key, s3->spool_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* LZ4 output on its way to the spool through age. */
static int
age_sink(void *arg, const void *buf, size_t len)
{
	struct upl_s3 *s3 = arg;

	if (age_write(s3->aw, buf, len) < 0) {
		if (s3->read_err[0] == '\0')
			say(s3->read_err, sizeof(s3->read_err), "encrypting "
			    "segment %s: %s", s3->key,
			    age_writer_error(s3->aw));
		return -1;
	}
	return 0;
}

/* Starts the PUT of the compressed segment in the spool. */
static int
put_spooled(struct upl_s3 *s3)
{
	const uint8_t *mem = upl_spool_mem(&s3->spool);

	s3->size = s3->spool.size;
	if (mem != NULL)
		return s3client_put(s3->c, s3->key, mem, (size_t)s3->size,
		    put_done, s3);
	return s3client_put_stream(s3->c, s3->key, s3->size, spool_read, s3,
	    put_done, s3);
}

/* One slice of the segment's compression; the PUT after the last. */
static void
on_slice(evutil_socket_t fd, short what, void *arg)
{
	struct upl_s3 *s3 = arg;
	struct upl *u = s3->u;
	const struct upl_step *s = &s3->step;
	enum upl_fault f = UPL_FAULT_NONE;
	char err[600];
	uint64_t in, out;
	int e;

	(void)fd;
	(void)what;
	if (!s3->busy || s3->lz == NULL)
		return;
	uint64_t end = s->to - s3->off > UPL_S3_SLICE ? s3->off +
	    UPL_S3_SLICE : s->to;
	err[0] = '\0';
	if (upl_feed_segment(s3->lz, &u->buf, u->db->meta_path, s3->gen,
	    s->index, s3->off, end, &s3->shadow_fd, u->chunk, UPL_CHUNK, &f,
	    err, sizeof(err)) < 0)
		goto fail;
	s3->off = end;
	if (s3->off < s->to) {
		event_active(s3->slice, EV_TIMEOUT, 1);
		return;
	}
	if (lz4frame_writer_finish(s3->lz) < 0)
		goto fail;
	if (s3->aw != NULL && age_writer_finish(s3->aw) < 0) {
		if (s3->read_err[0] == '\0')
			say(s3->read_err, sizeof(s3->read_err), "encrypting "
			    "segment %s: %s", s3->key,
			    age_writer_error(s3->aw));
		goto fail;
	}
	lz4frame_writer_stats(s3->lz, &in, &out);
	lz4frame_writer_free(s3->lz);
	s3->lz = NULL;
	close(s3->shadow_fd);
	s3->shadow_fd = -1;
	if (put_spooled(s3) < 0) {
		e = errno;
		snprintf(err, sizeof(err), "cannot start the upload of %s: %s",
		    s3->key, strerror(e));
		job_end(s3, -1, e, UPL_FAULT_LOCAL, 0, err);
	}
	return;
fail:
	e = errno;
	if (f == UPL_FAULT_NONE) {
		/* The compressor or the spool (our disk), not the replica. */
		f = UPL_FAULT_LOCAL;
		snprintf(err, sizeof(err), "%s", s3->read_err[0] ?
		    s3->read_err : lz4frame_writer_error(s3->lz));
		if (e == ENOENT)
			e = EIO; /* not "the shadow log changed" */
	}
	job_end(s3, -1, e, f, 0, err);
}

static int
start_segment(struct upl_s3 *s3, enum upl_fault *fault, char *err,
    size_t errlen)
{
	const struct upl_step *s = &s3->step;

	if (s->from > UINT32_MAX || s->to <= s->from) {
		snprintf(err, errlen, "bad segment step %" PRIu64 "..%" PRIu64,
		    s->from, s->to);
		*fault = UPL_FAULT_LOCAL;
		errno = EINVAL;
		return -1;
	}
	if (s3->age && (s3->aw = age_writer_new(&s3->keys, spool_sink, s3,
	    err, errlen)) == NULL) {
		*fault = UPL_FAULT_LOCAL;
		return -1;
	}
	if (layout_wal_path(s3->key, sizeof(s3->key), "", s3->gen, s->index,
	    (uint32_t)s->from) < 0 ||
	    (s3->lz = lz4frame_writer_new(s3->age ? age_sink : spool_sink,
	    s3)) == NULL) {
		int e = errno;
		snprintf(err, errlen, "segment %08" PRIx32 "_%08" PRIx64 ": %s",
		    s->index, s->from, strerror(e));
		*fault = UPL_FAULT_LOCAL;
		errno = e;
		return -1;
	}
	s3->off = s->from;
	event_active(s3->slice, EV_TIMEOUT, 1);
	return 0;
}

static int
start_snapshot(struct upl_s3 *s3, enum upl_fault *fault, char *err,
    size_t errlen)
{
	struct upl *u = s3->u;
	const struct upl_step *s = &s3->step;
	char path[4200];
	struct stat st;
	int e;

	snprintf(path, sizeof(path), "%s/generations/%s/snapshots/%08" PRIx32
	    "_%016" PRIx64 ".snapshot.lz4", u->db->meta_path, s3->gen,
	    s->index, s->to);
	if (layout_snapshot_path(s3->key, sizeof(s3->key), "", s3->gen,
	    s->index) < 0) {
		e = errno;
		snprintf(err, errlen, "snapshot %08" PRIx32 ": %s", s->index,
		    strerror(e));
		goto local;
	}
	/* Once open, the walreader may replace the file: we keep ours. */
	s3->snap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s3->snap_fd < 0 || fstat(s3->snap_fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "snapshot file %s: %s", path,
		    strerror(e));
		goto local;
	}
	s3->size = (uint64_t)st.st_size;
	if (s3->age) {
		if ((s3->enc = age_encsrc_new(&s3->keys, snap_plain, s3, err,
		    errlen)) == NULL) {
			e = errno;
			goto local;
		}
		s3->size = age_encrypted_size(s3->keys.nrcpts, s3->size);
	}
	if (s3client_put_stream(s3->c, s3->key, s3->size, snap_read, s3,
	    put_done, s3) < 0) {
		e = errno;
		if (s3->read_errno != 0) {
			e = s3->read_errno;
			snprintf(err, errlen, "%s", s3->read_err);
		} else {
			snprintf(err, errlen, "cannot start the upload of %s: "
			    "%s", s3->key, strerror(e));
		}
		goto local;
	}
	return 0;
local:
	*fault = UPL_FAULT_LOCAL;
	errno = e;
	return -1;
}

int
upl_s3_put(struct upl *u, const struct upl_step *s, enum upl_fault *fault,
    char *err, size_t errlen)
{
	struct upl_s3 *s3 = u->s3;
	int rc;

	if (s3->busy || s3->find != FIND_NONE) {
		snprintf(err, errlen, "an S3 operation is already in flight");
		*fault = UPL_FAULT_LOCAL;
		errno = EBUSY;
		return -1;
	}
	s3->busy = true;
	s3->step = *s;
	memcpy(s3->gen, u->plan.gen, sizeof(s3->gen));
	s3->read_errno = 0;
	s3->read_err[0] = '\0';
	rc = s->kind == UPL_STEP_SEGMENT ? start_segment(s3, fault, err,
	    errlen) : start_snapshot(s3, fault, err, errlen);
	if (rc < 0) {
		int e = errno;
		job_clear(s3);
		errno = e;
	}
	return rc;
}

/* ---- the start-up position ----------------------------------------------- */

static void
find_end(struct upl_s3 *s3)
{
	s3->find = FIND_NONE;
	if (s3->count_open)
		upl_lz4count_free(&s3->count);
	s3->count_open = false;
	age_decryptor_free(s3->dec);
	s3->dec = NULL;
}

static void
find_fail(struct upl_s3 *s3, const char *err)
{
	struct upl *u = s3->u;
	char gen[UPL_GEN_SIZE];

	memcpy(gen, s3->fgen, sizeof(gen));
	find_end(s3);
	upl_position_failed(u, gen, err);
}

static void
find_done(struct upl_s3 *s3, uint64_t seg_len)
{
	struct upl *u = s3->u;
	struct position rep, file = s3->file;
	bool have = s3->have_file;
	int64_t created = s3->scan.snap_created;

	upl_scan_position(&s3->scan, s3->fgen, seg_len, &rep);
	find_end(s3);
	upl_position_known(u, have ? &file : NULL, &rep, created);
}

/* Entries of one listing page: names relative to the directory. */
static int
on_page(const struct s3_list_entry *e, size_t n, void *arg)
{
	struct upl_s3 *s3 = arg;
	size_t dl = strlen(s3->dir);

	for (size_t i = 0; i < n; i++) {
		if (e[i].is_prefix || strncmp(e[i].key, s3->dir, dl) != 0)
			continue;
		if (s3->find == FIND_SNAPSHOTS)
			(void)upl_scan_snapshot(&s3->scan, e[i].key + dl,
			    e[i].size, e[i].last_modified);
		else
			(void)upl_scan_wal(&s3->scan, e[i].key + dl,
			    e[i].size);
	}
	return 0;
}

static int
count_sink(void *arg, const void *data, size_t len)
{
	struct upl_s3 *s3 = arg;

	return upl_lz4count_feed(&s3->count, data, len);
}

static int
on_segment_bytes(const void *data, size_t len, void *arg)
{
	struct upl_s3 *s3 = arg;

	if (s3->dec != NULL)
		return age_decrypt_update(s3->dec, data, len);
	return count_sink(s3, data, len);
}

/* Why the newest segment could not be read, else NULL. */
static const char *
segment_error(struct upl_s3 *s3)
{
	if (s3->count.err[0] != '\0')
		return s3->count.err;
	if (s3->dec != NULL && age_decryptor_status(s3->dec) != AGE_OK)
		return age_decryptor_error(s3->dec);
	return NULL;
}

static void
segment_done(const struct s3_result *res, void *arg)
{
	struct upl_s3 *s3 = arg;
	char err[1600];
	uint64_t len;

	const char *why = segment_error(s3);

	if (why == NULL && res->status == 0 && s3->dec != NULL)
		(void)age_decrypt_finish(s3->dec);
	if ((why = segment_error(s3)) != NULL) {
		say(err, sizeof(err), "newest segment s3://%s/%s%s%s: %s",
		    s3->bucket, s3->prefix, s3->prefix[0] ? "/" : "", s3->key,
		    why);
		find_fail(s3, err);
		return;
	}
	if (res->status != 0) {
		format_err(res, err, sizeof(err));
		find_fail(s3, err);
		return;
	}
	if (upl_lz4count_finish(&s3->count, &len) < 0) {
		say(err, sizeof(err), "newest segment s3://%s/%s%s%s: %s",
		    s3->bucket, s3->prefix, s3->prefix[0] ? "/" : "", s3->key,
		    s3->count.err);
		find_fail(s3, err);
		return;
	}
	find_done(s3, len);
}

/* The identities, to read the newest segment. 0, or -1 with ERR. */
static int
load_identities(struct upl_s3 *s3, char *err, size_t errlen)
{
	struct age_keys k;

	if (s3->have_identities)
		return 0;
	if (replica_age_keys(s3->u->rep, true, &k, err, errlen) < 0)
		return -1;
	if (k.nids == 0) {
		snprintf(err, errlen, "replica %s has age recipients but no "
		    "identity (age.identities or age.identity-file): cannot "
		    "read its newest segment to find its position",
		    s3->u->rep->name);
		age_keys_clear(&k);
		return -1;
	}
	age_keys_clear(&s3->keys);
	s3->keys = k;
	s3->have_identities = true;
	return 0;
}

static void list_done(const struct s3_result *res, void *arg);

static void
head_done(const struct s3_result *res, void *arg)
{
	struct upl_s3 *s3 = arg;
	char err[1600];

	if (res->status == 0) {
		struct upl *u = s3->u;
		struct position file = s3->file;
		int64_t created = res->info.last_modified;

		log_info("replica listing lags, HEAD confirms the position file",
		    KV_S("key", s3->key));
		find_end(s3);
		upl_position_known(u, &file, &file, created);
		return;
	}
	if (res->err != NULL && res->err->http_status == 404) {
		find_done(s3, 0);
		return;
	}
	format_err(res, err, sizeof(err));
	find_fail(s3, err);
}

/*
 * When the listing does not confirm the position file but the local shadow
 * state has the file's generation's snapshot: starts a HEAD of it and
 * returns 1; 0 when there is nothing to ask.
 */
static int
head_file_snapshot(struct upl_s3 *s3)
{
	const struct upl_view *v = &s3->u->view;

	if (!s3->have_file || !s3->file.snapshot || !v->snap ||
	    strcmp(v->gen, s3->fgen) != 0 ||
	    layout_snapshot_path(s3->key, sizeof(s3->key), "", s3->fgen,
	    v->snap_index) < 0)
		return 0;
	s3->find = FIND_HEAD;
	return s3client_head(s3->c, s3->key, head_done, s3) < 0 ? 0 : 1;
}

static int
list_dir(struct upl_s3 *s3, const char *what, char *err, size_t errlen)
{
	int n = snprintf(s3->dir, sizeof(s3->dir), "generations/%s/%s/",
	    s3->fgen, what);

	if (n < 0 || (size_t)n >= sizeof(s3->dir) ||
	    s3client_list(s3->c, s3->dir, "/", NULL, on_page, s3, list_done,
	    s3) < 0) {
		snprintf(err, errlen, "cannot start listing %s: %s", s3->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
list_done(const struct s3_result *res, void *arg)
{
	struct upl_s3 *s3 = arg;
	struct position rep;
	char err[1600];

	if (res->status != 0) {
		format_err(res, err, sizeof(err));
		find_fail(s3, err);
		return;
	}
	if (s3->find == FIND_SNAPSHOTS) {
		s3->find = FIND_WAL;
		if (list_dir(s3, "wal", err, sizeof(err)) < 0)
			find_fail(s3, err);
		return;
	}
	/* Both listed. The position file holds when the replica confirms
	 * it; else the replica's position, which needs the newest
	 * segment's length when there is one. */
	upl_scan_position(&s3->scan, s3->fgen, 0, &rep);
	if (s3->have_file && !upl_pos_file_usable(&s3->file, &rep) &&
	    head_file_snapshot(s3))
		return;
	if ((s3->have_file && upl_pos_file_usable(&s3->file, &rep)) ||
	    s3->scan.nsegs == 0) {
		find_done(s3, 0);
		return;
	}
	s3->find = FIND_SEGMENT;
	if (layout_wal_path(s3->key, sizeof(s3->key), "", s3->fgen,
	    s3->scan.seg_index, s3->scan.seg_offset) < 0 ||
	    upl_lz4count_init(&s3->count) < 0) {
		snprintf(err, sizeof(err), "cannot read the newest segment: %s",
		    strerror(errno));
		find_fail(s3, err);
		return;
	}
	s3->count_open = true;
	if (s3->age && load_identities(s3, err, sizeof(err)) < 0) {
		find_fail(s3, err);
		return;
	}
	if (s3->age && (s3->dec = age_decryptor_new(&s3->keys, count_sink,
	    s3)) == NULL) {
		find_fail(s3, "out of memory");
		return;
	}
	if (s3client_get(s3->c, s3->key, 0, -1, on_segment_bytes, s3,
	    segment_done, s3) < 0) {
		snprintf(err, sizeof(err), "cannot start the download of %s: "
		    "%s", s3->key, strerror(errno));
		find_fail(s3, err);
	}
}

int
upl_s3_find_position(struct upl *u, const char *gen,
    const struct position *file, char *err, size_t errlen)
{
	struct upl_s3 *s3 = u->s3;

	if (s3->busy || s3->find != FIND_NONE) {
		snprintf(err, errlen, "an S3 operation is already in flight");
		errno = EBUSY;
		return -1;
	}
	if (!layout_is_generation(gen)) {
		snprintf(err, errlen, "invalid generation name");
		errno = EINVAL;
		return -1;
	}
	memcpy(s3->fgen, gen, LAYOUT_GEN_LEN + 1);
	s3->have_file = file != NULL;
	if (file != NULL)
		s3->file = *file;
	upl_scan_init(&s3->scan);
	s3->find = FIND_SNAPSHOTS;
	if (list_dir(s3, "snapshots", err, errlen) < 0) {
		s3->find = FIND_NONE;
		return -1;
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------------ */

int
upl_s3_open(struct upl *u, char *err, size_t errlen)
{
	struct s3client_config cfg;
	struct upl_s3 *s3 = calloc(1, sizeof(*s3));

	if (s3 == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s3->u = u;
	s3->shadow_fd = -1;
	s3->snap_fd = -1;
	snprintf(s3->bucket, sizeof(s3->bucket), "%s",
	    u->rep->bucket ? u->rep->bucket : "");
	if (layout_clean_prefix(u->rep->path ? u->rep->path : "", s3->prefix,
	    sizeof(s3->prefix)) < 0 ||
	    snprintf(s3->spool_dir, sizeof(s3->spool_dir), "%s/walship",
	    u->db->meta_path) >= (int)sizeof(s3->spool_dir)) {
		snprintf(err, errlen, "replica path or meta path too long");
		free(s3);
		return -1;
	}
	upl_spool_init(&s3->spool, s3->spool_dir, UPL_S3_SPOOL_MEM);
	s3->age = replica_age_enabled(u->rep);
	if (s3->age && replica_age_keys(u->rep, false, &s3->keys, err,
	    errlen) < 0) {
		free(s3);
		return -1;
	}
	s3client_config_from_replica(&cfg, u->rep);
	if ((s3->c = s3client_new(u->base, &cfg, err, errlen)) == NULL) {
		age_keys_clear(&s3->keys);
		free(s3);
		return -1;
	}
	if ((s3->slice = event_new(u->base, -1, 0, on_slice, s3)) == NULL) {
		snprintf(err, errlen, "cannot create an event");
		s3client_free(s3->c);
		age_keys_clear(&s3->keys);
		free(s3);
		return -1;
	}
	u->s3 = s3;
	return 0;
}

void
upl_s3_close(struct upl *u)
{
	struct upl_s3 *s3 = u->s3;

	if (s3 == NULL)
		return;
	s3client_free(s3->c);	/* cancels, no callbacks */
	job_clear(s3);
	find_end(s3);
	event_free(s3->slice);
	age_keys_clear(&s3->keys);
	free(s3);
	u->s3 = NULL;
}
