/*
 * restore: choosing what to restore and rebuilding the database (see
 * restore.h for the rules).
 *
 * The work happens in a private directory created next to the output
 * (".<name>.walship-restore-XXXXXX", so the final rename stays on one
 * filesystem) and removed whatever the outcome:
 *
 *   <tmp>/<name>             the snapshot, then the database being built
 *   <tmp>/<index>.wal        one WAL index, downloaded and verified
 *
 * Downloads run on a pool of threads; each takes the next index, streams
 * its segments through the LZ4 reader and the WAL verifier into its file,
 * and marks it done. The main thread applies indexes strictly in order,
 * writing their committed pages into the database file as SQLite's
 * checkpoint would (apply_frames), and removes each once applied. Workers
 * stay at most `window` indexes ahead of the applied one, so temporary
 * disk use is bounded too. Only the main thread touches the database; the
 * pool shares nothing but the job table under one mutex.
 */
#define _GNU_SOURCE
#include "restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lz4frame.h"
#include "lz4pipe.h"
#include "sqlitewal.h"
#include "io.h"

#define RS_BUF (256 * 1024)
#define RS_WRITEBACK (16 * 1024 * 1024)
#define RS_APPLY_BUF (1024 * 1024)
#define RS_IOV 256
#define RS_PATH 4096
#define RS_KEY 4200
#define RS_MAX_THREADS 64

enum job_state {
	JOB_PENDING = 0,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
};

/* One WAL index to download and apply. */
struct rs_job {
	uint32_t index;
	size_t first;			/* its segments in plan->segments */
	size_t count;
	enum job_state state;
	bool cancelled;			/* stopped because another failed */
	char path[RS_PATH];		/* <tmp>/<index>.wal */
	uint32_t page_size;
	uint64_t length;		/* decompressed bytes */
	uint64_t commit_end;		/* end of the last commit frame */
	uint32_t commit_size;		/* db pages at that commit, 0 = none */
	char err[2048];
};

struct rs_ctx {
	const struct restore_opts *o;
	const struct restore_plan *p;
	char tmpdir[RS_PATH];
	char db[RS_PATH];		/* <tmp>/<name> */
	char wal[RS_PATH + 8];		/* <tmp>/<name>-wal */
	uint32_t page_size;		/* of the database image */
	uint64_t db_size;
	int db_fd;			/* <tmp>/<name> while WAL is applied */
	uint8_t *apply_buf;		/* RS_APPLY_BUF bytes of frames */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rs_job *jobs;
	size_t njobs;
	size_t next;			/* next job a worker takes */
	size_t applied;			/* jobs applied so far */
	size_t window;			/* how far workers may run ahead */
	bool stop;			/* set with stop_all(), read anywhere */
	struct rs_job *failed;		/* the first job that failed itself */
};

struct rs_worker {
	struct rs_ctx *x;
	pthread_t tid;
	struct lz4frame_reader *lz;
	uint8_t *buf;			/* RS_BUF decompressed bytes */
	uint8_t *frame;			/* one frame being assembled */
};

/* The decoding state of one index across its segments. */
struct wal_stream {
	int fd;
	uint64_t off;			/* decompressed bytes so far */
	uint8_t hdr[SQLITEWAL_HDR_SIZE];
	size_t hdr_fill;
	bool have_hdr;
	struct sqlitewal_hdr h;
	struct sqlitewal_verifier v;
	size_t fsz;			/* frame size */
	size_t fill;			/* bytes in worker->frame */
};

__attribute__((format(printf, 3, 4))) static void
errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* snprintf that GCC does not second-guess; -1 if the text was cut. */
__attribute__((format(printf, 3, 4))) static int
bfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* V / UNIT with up to DIGITS decimals, trailing zeros dropped. */
static void
fmt_frac(char *buf, size_t len, int64_t v, int64_t unit, int digits,
    const char *suffix)
{
	char f[16];
	int n;

	snprintf(f, sizeof(f), "%0*" PRId64, digits, v % unit);
	for (n = digits; n > 0 && f[n - 1] == '0'; n--)
		f[n - 1] = '\0';
	if (n == 0)
		snprintf(buf, len, "%" PRId64 "%s", v / unit, suffix);
	else
		bfmt(buf, len, "%" PRId64 ".%s%s", v / unit, f, suffix);
}

/* Go's time.Duration.String() for non-negative durations. */
static void
fmt_duration(int64_t ns, char *buf, size_t len)
{
	const int64_t s = 1000000000;
	char sec[32];

	if (ns <= 0)
		snprintf(buf, len, "0s");
	else if (ns < 1000)
		snprintf(buf, len, "%" PRId64 "ns", ns);
	else if (ns < 1000000)
		fmt_frac(buf, len, ns, 1000, 3, "\xc2\xb5s");
	else if (ns < s)
		fmt_frac(buf, len, ns, 1000000, 6, "ms");
	else {
		fmt_frac(sec, sizeof(sec), ns % (60 * s), s, 9, "s");
		if (ns < 60 * s)
			snprintf(buf, len, "%s", sec);
		else if (ns < 3600 * s)
			bfmt(buf, len, "%" PRId64 "m%s", ns / (60 * s), sec);
		else
			bfmt(buf, len, "%" PRId64 "h%" PRId64 "m%s",
			    ns / (3600 * s), ns / (60 * s) % 60, sec);
	}
}

static void
elapsed(int64_t t0, char *buf, size_t len)
{
	fmt_duration(mono_ns() - t0, buf, len);
}

static const char *
wal_key(struct replica_client *c, const char *gen, uint32_t index,
    uint32_t offset, char *buf, size_t len)
{
	struct replica_obj o = replica_wal_obj(gen, index, offset);

	return replica_key(c, &o, buf, len);
}

/* ------------------------------------------------------------------ */
/* Listings                                                            */
/* ------------------------------------------------------------------ */

void
restore_generation_clear(struct restore_generation *g)
{
	free(g->snapshots);
	free(g->segments);
	memset(g, 0, sizeof(*g));
}

void
restore_generations_free(struct restore_generation *g, size_t n)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		restore_generation_clear(&g[i]);
	free(g);
}

static void
widen(struct restore_generation *g, bool *any, int64_t t)
{
	if (!*any || t < g->start)
		g->start = t;
	if (!*any || t > g->end)
		g->end = t;
	*any = true;
}

int
restore_list_generation(struct replica_client *c, const char *gen,
    struct restore_generation *g, char *err, size_t errlen)
{
	bool any = false;

	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", gen);
	if (replica_list_snapshots(c, gen, &g->snapshots, &g->nsnapshots, err,
	    errlen) < 0)
		return -1;
	if (replica_list_wal(c, gen, &g->segments, &g->nsegments, err,
	    errlen) < 0) {
		restore_generation_clear(g);
		return -1;
	}
	for (size_t i = 0; i < g->nsnapshots; i++)
		widen(g, &any, g->snapshots[i].created);
	for (size_t i = 0; i < g->nsegments; i++)
		widen(g, &any, g->segments[i].created);
	return 0;
}

int
restore_list_generations(struct replica_client *c,
    struct restore_generation **out, size_t *n, char *err, size_t errlen)
{
	struct replica_generation *names;
	struct restore_generation *v;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (replica_list_generations(c, &names, &cnt, err, errlen) < 0)
		return -1;
	if (cnt == 0)
		return 0;
	if ((v = calloc(cnt, sizeof(*v))) == NULL) {
		free(names);
		errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (restore_list_generation(c, names[i].name, &v[i], err,
		    errlen) < 0) {
			restore_generations_free(v, i);
			free(names);
			return -1;
		}
	}
	free(names);
	*out = v;
	*n = cnt;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Choosing what to restore                                            */
/* ------------------------------------------------------------------ */

void
restore_opts_init(struct restore_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->index = -1;
	o->offset = -1;
	o->timestamp = RESTORE_TS_NONE;
	o->parallelism = RESTORE_DEFAULT_PARALLELISM;
}

void
restore_plan_clear(struct restore_plan *p)
{
	free(p->segments);
	memset(p, 0, sizeof(*p));
}

/*
 * Whether G can serve the request and how recent a state it holds: its end
 * without a timestamp, else the newest object created at or before TS.
 */
static bool
gen_score(const struct restore_generation *g, int64_t ts, int64_t *score)
{
	int64_t best = INT64_MIN;

	if (g->nsnapshots + g->nsegments == 0)
		return false;
	if (ts == RESTORE_TS_NONE) {
		*score = g->end;
		return true;
	}
	if (g->start > ts)
		return false;
	for (size_t i = 0; i < g->nsnapshots; i++) {
		if (g->snapshots[i].created <= ts &&
		    g->snapshots[i].created > best)
			best = g->snapshots[i].created;
	}
	for (size_t i = 0; i < g->nsegments; i++) {
		if (g->segments[i].created <= ts &&
		    g->segments[i].created > best)
			best = g->segments[i].created;
	}
	*score = best;
	return true;
}

/* The best generation over every client, into BEST. */
static int
choose_generation(const struct restore_opts *o, struct restore_generation *best,
    struct replica_client **bestc, char *err, size_t errlen)
{
	struct replica_generation *names;
	struct restore_generation g;
	int64_t score, best_score = 0;
	bool found = false;
	size_t n;

	for (size_t ci = 0; ci < o->nclients; ci++) {
		struct replica_client *c = o->clients[ci];
		if (replica_list_generations(c, &names, &n, err, errlen) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (o->generation != NULL &&
			    strcmp(o->generation, names[i].name) != 0)
				continue;
			if (restore_list_generation(c, names[i].name, &g, err,
			    errlen) < 0) {
				free(names);
				return -1;
			}
			if (gen_score(&g, o->timestamp, &score) &&
			    (!found || score > best_score)) {
				restore_generation_clear(best);
				*best = g;
				*bestc = c;
				best_score = score;
				found = true;
			} else
				restore_generation_clear(&g);
		}
		free(names);
	}
	if (!found) {
		errf(err, errlen, "no matching backups found");
		return RESTORE_NO_BACKUPS;
	}
	return 0;
}

static int
choose_snapshot(const struct restore_opts *o, const struct restore_generation *g,
    struct replica_snapshot *out, char *err, size_t errlen)
{
	const struct replica_snapshot *pick = NULL;

	/* Sorted by index: the last one that qualifies is the highest. */
	for (size_t i = 0; i < g->nsnapshots; i++) {
		const struct replica_snapshot *s = &g->snapshots[i];
		if (o->index >= 0 && (int64_t)s->index > o->index)
			continue;
		if (o->timestamp != RESTORE_TS_NONE &&
		    s->created > o->timestamp)
			continue;
		pick = s;
	}
	if (pick != NULL) {
		*out = *pick;
		return 0;
	}
	if (o->timestamp != RESTORE_TS_NONE)
		errf(err, errlen, "cannot find snapshot index by timestamp: "
		    "no snapshots available: generation=%s", g->name);
	else if (o->index >= 0)
		errf(err, errlen, "cannot find snapshot index: no snapshot at "
		    "or below index %08" PRIx64 ": generation=%s",
		    (uint64_t)o->index, g->name);
	else
		errf(err, errlen, "cannot find snapshot index: no snapshots "
		    "available: generation=%s", g->name);
	return -1;
}

/* Every index from the snapshot's to the last must start at offset 0. */
static int
check_indexes(const struct restore_plan *p, char *err, size_t errlen)
{
	char key[RS_KEY];
	size_t k = 0, n = p->nsegments;

	for (uint64_t idx = p->index_min; idx <= p->index_max; idx++) {
		if (k >= n || p->segments[k].index != idx) {
			errf(err, errlen, "missing wal index %08" PRIx64 ": no "
			    "segment %s", idx, wal_key(p->client, p->gen,
			    (uint32_t)idx, 0, key, sizeof(key)));
			return -1;
		}
		if (p->segments[k].offset != 0) {
			errf(err, errlen, "missing initial wal segment: %s",
			    wal_key(p->client, p->gen, (uint32_t)idx, 0, key,
			    sizeof(key)));
			return -1;
		}
		while (k < n && p->segments[k].index == idx)
			k++;
	}
	return 0;
}

static int
choose_segments(const struct restore_opts *o, const struct restore_generation *g,
    struct restore_plan *p, char *err, size_t errlen)
{
	size_t first = 0, end;

	while (first < g->nsegments && g->segments[first].index <
	    p->snapshot.index)
		first++;
	end = first;
	for (size_t k = first; k < g->nsegments; k++) {
		const struct replica_wal_segment *s = &g->segments[k];
		if (o->timestamp != RESTORE_TS_NONE) {
			if (s->created <= o->timestamp)
				end = k + 1;	/* the last one at or before T */
		} else if (o->index >= 0 && ((int64_t)s->index > o->index ||
		    ((int64_t)s->index == o->index && o->offset >= 0 &&
		    (int64_t)s->offset >= o->offset))) {
			break;
		} else
			end = k + 1;
	}
	p->index_min = p->index_max = p->snapshot.index;
	if (end == first)
		return 0;
	p->nsegments = end - first;
	p->segments = malloc(p->nsegments * sizeof(*p->segments));
	if (p->segments == NULL) {
		p->nsegments = 0;
		errf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(p->segments, g->segments + first,
	    p->nsegments * sizeof(*p->segments));
	p->index_max = p->segments[p->nsegments - 1].index;
	return check_indexes(p, err, errlen);
}

int
restore_plan(const struct restore_opts *o, struct restore_plan *p, char *err,
    size_t errlen)
{
	struct restore_generation g = { 0 };
	struct replica_client *c = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if (o->index >= 0 && o->timestamp != RESTORE_TS_NONE) {
		errf(err, errlen, "cannot specify index & timestamp to restore");
		return -1;
	}
	if ((rc = choose_generation(o, &g, &c, err, errlen)) != 0)
		return rc;
	p->client = c;
	snprintf(p->gen, sizeof(p->gen), "%s", g.name);
	if (choose_snapshot(o, &g, &p->snapshot, err, errlen) < 0 ||
	    choose_segments(o, &g, p, err, errlen) < 0) {
		restore_generation_clear(&g);
		restore_plan_clear(p);
		return -1;
	}
	restore_generation_clear(&g);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static int
fsync_path(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	int rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Splits PATH into its directory and last component. */
static void
split_path(const char *path, char *dir, size_t dlen, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, dlen, ".");
		*base = path;
	} else if (slash == path) {
		snprintf(dir, dlen, "/");
		*base = slash + 1;
	} else {
		snprintf(dir, dlen, "%.*s", (int)(slash - path), path);
		*base = slash + 1;
	}
}

/* mkdir -p DIR with mode 0700 for what it creates (as Litestream). */
static int
mkdir_parents(const char *dir)
{
	char p[RS_PATH];
	size_t len = strlen(dir);

	if (len >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char ch = p[i];
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = ch;
	}
	return 0;
}

/* Removes the private directory and whatever is left in it. */
static void
remove_tmpdir(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	(void)rmdir(dir);
}

/* Renames FROM to TO unless TO exists. */
static int
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	/* Filesystems without RENAME_NOREPLACE: link() never replaces. */
	if (link(from, to) == 0)
		return unlink(from);
	if (errno != EPERM && errno != EOPNOTSUPP)
		return -1;
	if (access(to, F_OK) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static ssize_t
object_source(void *arg, void *buf, size_t len)
{
	struct replica_reader *r = arg;

	r->err[0] = '\0';
	return r->read(r, buf, len);
}

/* Why reading R through LZ failed: the reader's own words if it failed. */
static const char *
source_error(const struct replica_reader *r, const struct lz4frame_reader *lz)
{
	return r->err[0] != '\0' ? r->err : lz4frame_reader_error(lz);
}

/* ------------------------------------------------------------------ */
/* Snapshot                                                            */
/* ------------------------------------------------------------------ */

/* Checks the start of a database image; sets the page size. */
static int
check_db_header(struct rs_ctx *x, const uint8_t *b, size_t n, const char *key,
    char *err, size_t errlen)
{
	uint32_t ps;

	if (n < 100 || memcmp(b, "SQLite format 3", 16) != 0) {
		errf(err, errlen, "bad snapshot %s: not an SQLite database",
		    key);
		return -1;
	}
	ps = (uint32_t)b[16] << 8 | b[17];
	if (ps == 1)
		ps = 65536;
	if (!sqlitewal_valid_page_size(ps)) {
		errf(err, errlen, "bad snapshot %s: page size %u", key, ps);
		return -1;
	}
	x->page_size = ps;
	return 0;
}

/* 0, -1 with ERR set, or -2 if the object could not be read. */
static int
snapshot_stream(struct rs_ctx *x, struct lz4pipe *pipe, int fd,
    const char *key, char *err, size_t errlen)
{
	uint8_t head[100];
	const void *data;
	uint64_t flushed = 0;
	ssize_t n;

	while ((n = lz4pipe_next(pipe, &data)) > 0) {
		/* The first 100 bytes are the database header. */
		if (x->db_size < sizeof(head)) {
			size_t take = sizeof(head) - (size_t)x->db_size;
			if (take > (size_t)n)
				take = (size_t)n;
			memcpy(head + x->db_size, data, take);
			if (x->db_size + take == sizeof(head) &&
			    check_db_header(x, head, sizeof(head), key, err,
			    errlen) < 0)
				return -1;
		}
		if (io_write_full(fd, data, (size_t)n) < 0) {
			errf(err, errlen, "write %s: %s", x->db,
			    strerror(errno));
			return -1;
		}
		x->db_size += (uint64_t)n;
		if (x->db_size - flushed >= RS_WRITEBACK) {
			sync_file_range(fd, (off_t)flushed,
			    (off_t)(x->db_size - flushed),
			    SYNC_FILE_RANGE_WRITE);
			flushed = x->db_size;
		}
	}
	if (n < 0)
		return -2;	/* the caller asks the reader why */
	if (x->db_size > 0 && x->db_size < sizeof(head))
		return check_db_header(x, head, (size_t)x->db_size, key, err,
		    errlen);
	if (x->db_size % (x->page_size ? x->page_size : 1) != 0) {
		errf(err, errlen, "bad snapshot %s: %" PRIu64 " bytes is not "
		    "a whole number of %u-byte pages", key, x->db_size,
		    x->page_size);
		return -1;
	}
	return 0;
}

/*
 * Decompression runs on its own thread (lz4pipe) while this one writes:
 * the two cost about the same, so a snapshot restores in about half the
 * time it would take doing one after the other.
 */
static int
restore_snapshot(struct rs_ctx *x, char *err, size_t errlen)
{
	const struct restore_plan *p = x->p;
	struct replica_obj o = replica_snapshot_obj(p->gen, p->snapshot.index);
	struct lz4frame_reader *lz = NULL;
	struct lz4pipe *pipe = NULL;
	struct replica_reader *r;
	char key[RS_KEY];
	int fd, rc = -1;

	replica_key(p->client, &o, key, sizeof(key));
	log_info("restoring snapshot", KV_S("replica", p->client->name),
	    KV_S("generation", p->gen), KV_U("index", p->snapshot.index),
	    KV_S("path", x->db));
	if ((r = replica_open(p->client, &o, err, errlen)) == NULL)
		return -1;
	fd = open(x->db, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		errf(err, errlen, "create %s: %s", x->db, strerror(errno));
		r->close(r);
		return -1;
	}
	if ((lz = lz4frame_reader_new(object_source, r)) == NULL ||
	    (pipe = lz4pipe_start(lz)) == NULL)
		errf(err, errlen, "cannot start decompressing %s: %s", key,
		    strerror(errno));
	else
		rc = snapshot_stream(x, pipe, fd, key, err, errlen);
	/* Only now, with the thread gone, may the reader be asked why. */
	lz4pipe_stop(pipe);
	if (rc == -2) {
		rc = -1;
		errf(err, errlen, "cannot download snapshot %s: %s", key,
		    source_error(r, lz));
	}
	if (close(fd) < 0 && rc == 0) {
		errf(err, errlen, "close %s: %s", x->db, strerror(errno));
		rc = -1;
	}
	lz4frame_reader_free(lz);
	r->close(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* WAL download (worker threads)                                       */
/* ------------------------------------------------------------------ */

/* Tells every thread to finish; callers hold x->mu. */
static void
stop_all(struct rs_ctx *x)
{
	__atomic_store_n(&x->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&x->cv);
}

static bool
stopping(struct rs_ctx *x)
{
	return __atomic_load_n(&x->stop, __ATOMIC_ACQUIRE);
}

/* The first 32 bytes of an index: its WAL header. */
static int
feed_header(struct wal_stream *ws, const uint8_t **data, size_t *n,
    const char *key, char *err, size_t errlen)
{
	char why[128];
	size_t take = SQLITEWAL_HDR_SIZE - ws->hdr_fill;

	if (take > *n)
		take = *n;
	memcpy(ws->hdr + ws->hdr_fill, *data, take);
	ws->hdr_fill += take;
	*data += take;
	*n -= take;
	if (ws->hdr_fill < SQLITEWAL_HDR_SIZE)
		return 0;
	if (sqlitewal_hdr_parse(ws->hdr, SQLITEWAL_HDR_SIZE, &ws->h, why,
	    sizeof(why)) < 0) {
		errf(err, errlen, "bad wal segment %s: %s", key, why);
		return -1;
	}
	sqlitewal_verifier_init(&ws->v, &ws->h);
	ws->fsz = sqlitewal_frame_size(ws->h.page_size);
	ws->have_hdr = true;
	if (io_write_full(ws->fd, ws->hdr, SQLITEWAL_HDR_SIZE) < 0) {
		errf(err, errlen, "write wal file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Decompressed bytes of a segment: header, then verified frames. */
static int
feed(struct rs_worker *w, struct wal_stream *ws, const uint8_t *data,
    size_t n, const char *key, char *err, size_t errlen)
{
	ws->off += n;
	while (n > 0) {
		if (!ws->have_hdr) {
			if (feed_header(ws, &data, &n, key, err, errlen) < 0)
				return -1;
			continue;
		}
		size_t take = ws->fsz - ws->fill;
		if (take > n)
			take = n;
		memcpy(w->frame + ws->fill, data, take);
		ws->fill += take;
		data += take;
		n -= take;
		if (ws->fill < ws->fsz)
			continue;
		if (sqlitewal_verify_frame(&ws->v, w->frame) < 0) {
			errf(err, errlen, "bad wal segment %s: frame at wal "
			    "offset %" PRIu64 ": %s", key, ws->v.bad_off,
			    ws->v.why);
			return -1;
		}
		if (io_write_full(ws->fd, w->frame, ws->fsz) < 0) {
			errf(err, errlen, "write wal file: %s", strerror(errno));
			return -1;
		}
		ws->fill = 0;
	}
	return 0;
}

/* Checks that SEG continues the index exactly where the last one ended. */
static int
check_offset(struct rs_ctx *x, const struct replica_wal_segment *seg,
    const struct wal_stream *ws, const char *key, char *err, size_t errlen)
{
	char missing[RS_KEY];

	if (seg->offset == ws->off)
		return 0;
	if (ws->off > UINT32_MAX) {
		errf(err, errlen, "wal index %08x is too large at %s", seg->index,
		    key);
	} else if (seg->offset > ws->off) {
		errf(err, errlen, "missing wal segment: %s (the segments of "
		    "index %08x end at offset %" PRIu64 ", the next one, %s, "
		    "starts at %u)", wal_key(x->p->client, x->p->gen,
		    seg->index, (uint32_t)ws->off, missing, sizeof(missing)),
		    seg->index, ws->off, key, seg->offset);
	} else {
		errf(err, errlen, "bad wal segment %s: overlaps the previous "
		    "segment, which ends at offset %" PRIu64, key, ws->off);
	}
	return -1;
}

static int
download_segment(struct rs_worker *w, struct wal_stream *ws,
    const struct replica_wal_segment *seg, char *err, size_t errlen)
{
	struct rs_ctx *x = w->x;
	struct replica_obj o = replica_wal_obj(x->p->gen, seg->index,
	    seg->offset);
	struct replica_reader *r;
	char key[RS_KEY], why[1024];
	ssize_t n;
	int rc = 0;

	replica_key(x->p->client, &o, key, sizeof(key));
	if (check_offset(x, seg, ws, key, err, errlen) < 0)
		return -1;
	if ((r = replica_open(x->p->client, &o, why, sizeof(why))) == NULL) {
		errf(err, errlen, "cannot download wal segment %s: %s", key,
		    why);
		return -1;
	}
	lz4frame_reader_reset(w->lz, object_source, r);
	while (rc == 0 && (n = lz4frame_read(w->lz, w->buf, RS_BUF)) > 0)
		rc = feed(w, ws, w->buf, (size_t)n, key, err, errlen);
	if (rc == 0 && n < 0) {
		errf(err, errlen, "cannot download wal segment %s: %s", key,
		    source_error(r, w->lz));
		rc = -1;
	}
	r->close(r);
	if (rc == 0 && !ws->have_hdr) {
		errf(err, errlen, "bad wal segment %s: shorter than a wal "
		    "header (%" PRIu64 " bytes)", key, ws->off);
		rc = -1;
	} else if (rc == 0 && ws->fill != 0) {
		errf(err, errlen, "bad wal segment %s: ends inside a frame",
		    key);
		rc = -1;
	}
	return rc;
}

static int
download_index(struct rs_worker *w, struct rs_job *j)
{
	struct rs_ctx *x = w->x;
	struct wal_stream ws = { .fd = -1 };
	int64_t t0 = mono_ns();
	char el[32];
	int rc = 0;

	ws.fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ws.fd < 0) {
		errf(j->err, sizeof(j->err), "create %s: %s", j->path,
		    strerror(errno));
		return -1;
	}
	for (size_t k = 0; rc == 0 && k < j->count; k++) {
		if (stopping(x)) {
			errf(j->err, sizeof(j->err), "restore cancelled");
			j->cancelled = true;
			rc = -1;
		} else
			rc = download_segment(w, &ws,
			    &x->p->segments[j->first + k], j->err,
			    sizeof(j->err));
	}
	if (close(ws.fd) < 0 && rc == 0) {
		errf(j->err, sizeof(j->err), "close %s: %s", j->path,
		    strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		return -1;
	j->page_size = ws.h.page_size;
	j->length = ws.off;
	j->commit_end = ws.v.commit_end;
	j->commit_size = ws.v.commit_size;
	elapsed(t0, el, sizeof(el));
	log_info("downloaded wal", KV_S("replica", x->p->client->name),
	    KV_S("generation", x->p->gen), KV_U("index", j->index),
	    KV_S("elapsed", el));
	return 0;
}

static void *
worker_main(void *arg)
{
	struct rs_worker *w = arg;
	struct rs_ctx *x = w->x;

	pthread_mutex_lock(&x->mu);
	while (!stopping(x) && x->next < x->njobs) {
		if (x->next >= x->applied + x->window) {
			pthread_cond_wait(&x->cv, &x->mu);
			continue;
		}
		struct rs_job *j = &x->jobs[x->next++];
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&x->mu);
		int rc = download_index(w, j);
		pthread_mutex_lock(&x->mu);
		j->state = rc == 0 ? JOB_DONE : JOB_FAILED;
		if (rc < 0 && !j->cancelled && x->failed == NULL)
			x->failed = j;
		if (rc < 0)
			stop_all(x);
		pthread_cond_broadcast(&x->cv);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Applying WAL indexes (main thread)                                  */
/* ------------------------------------------------------------------ */

static int
sql_open(struct rs_ctx *x, sqlite3 **db, char *err, size_t errlen)
{
	if (sqlite3_open_v2(x->db, db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		errf(err, errlen, "open %s: %s", x->db, *db ?
		    sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	/* A temporary file, fsynced once before the rename. */
	sqlite3_exec(*db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	return 0;
}

static int
sql_close(struct rs_ctx *x, sqlite3 *db, char *err, size_t errlen)
{
	char side[RS_PATH + 8];

	if (sqlite3_close(db) != SQLITE_OK) {
		errf(err, errlen, "close %s: %s", x->db, sqlite3_errmsg(db));
		return -1;
	}
	/* A clean close leaves neither -wal nor -shm. */
	snprintf(side, sizeof(side), "%s-shm", x->db);
	if (access(x->wal, F_OK) == 0 || access(side, F_OK) == 0) {
		errf(err, errlen, "%s: sqlite left its -wal or -shm behind",
		    x->db);
		return -1;
	}
	return 0;
}

/* Writes the pages gathered in IOV, consecutive from page FIRST. */
static int
flush_pages(struct rs_ctx *x, struct iovec *iov, int *n, uint32_t first,
    char *err, size_t errlen)
{
	off_t off = (off_t)(first - 1) * x->page_size;
	int done = 0;

	while (done < *n) {
		ssize_t w = pwritev(x->db_fd, iov + done, *n - done, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			errf(err, errlen, "write %s: %s", x->db,
			    w < 0 ? strerror(errno) : "no progress");
			return -1;
		}
		off += w;
		/* Whole pages only: a short write resumes inside one. */
		while (done < *n && (size_t)w >= iov[done].iov_len) {
			w -= (ssize_t)iov[done].iov_len;
			done++;
		}
		if (done < *n && w > 0) {
			iov[done].iov_base = (uint8_t *)iov[done].iov_base + w;
			iov[done].iov_len -= (size_t)w;
		}
	}
	*n = 0;
	return 0;
}

/*
 * Writes J's committed frames into the database file as SQLite's own
 * checkpoint would: each frame up to the end of the last commit, in WAL
 * order (a later frame of a page replaces an earlier one), pages past the
 * last commit's database size left out, and the file then cut or grown to
 * that size. The frames were verified (salts, checksum chain) on download.
 * Runs of consecutive pages go out in one pwritev.
 */
static int
apply_frames(struct rs_ctx *x, const struct rs_job *j, char *err,
    size_t errlen)
{
	size_t fsz = sqlitewal_frame_size(x->page_size);
	size_t per = RS_APPLY_BUF / fsz;
	struct iovec iov[RS_IOV];
	uint64_t off = SQLITEWAL_HDR_SIZE;
	uint32_t first = 0, next = 0;
	int n = 0, rc = -1;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		errf(err, errlen, "open %s: %s", j->path, strerror(errno));
		return -1;
	}
	while (off < j->commit_end) {
		size_t want = (size_t)(j->commit_end - off);
		if (want > per * fsz)
			want = per * fsz;
		/* The pages gathered point into the buffer: out they go. */
		if (n > 0 && flush_pages(x, iov, &n, first, err, errlen) < 0)
			goto out;
		if (io_pread_full(fd, x->apply_buf, want, (off_t)off) !=
		    (ssize_t)want) {
			errf(err, errlen, "read %s: %s", j->path, errno ?
			    strerror(errno) : "short file");
			goto out;
		}
		for (size_t k = 0; k + fsz <= want; k += fsz) {
			uint8_t *fr = x->apply_buf + k;
			uint32_t pgno = sqlitewal_get32(fr);
			if (pgno == 0 || pgno > j->commit_size)
				continue;
			if (n > 0 && (pgno != next || n == RS_IOV) &&
			    flush_pages(x, iov, &n, first, err, errlen) < 0)
				goto out;
			if (n == 0)
				first = pgno;
			iov[n].iov_base = fr + SQLITEWAL_FRAME_HDR_SIZE;
			iov[n].iov_len = x->page_size;
			n++;
			next = pgno + 1;
		}
		off += want;
	}
	if (n > 0 && flush_pages(x, iov, &n, first, err, errlen) < 0)
		goto out;
	if (ftruncate(x->db_fd, (off_t)j->commit_size * x->page_size) < 0) {
		errf(err, errlen, "resize %s: %s", x->db, strerror(errno));
		goto out;
	}
	x->db_size = (uint64_t)j->commit_size * x->page_size;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
apply_index(struct rs_ctx *x, struct rs_job *j, char *err, size_t errlen)
{
	const struct restore_plan *p = x->p;
	int64_t t0 = mono_ns();
	char key[RS_KEY], el[32];

	if (j->page_size != x->page_size || x->db_size == 0) {
		errf(err, errlen, "wal index %08x does not fit the snapshot: "
		    "wal page size %u, database page size %u (%s)", j->index,
		    j->page_size, x->page_size, wal_key(p->client, p->gen,
		    j->index, 0, key, sizeof(key)));
		return -1;
	}
	if (j->commit_end < j->length)
		log_warn("wal index ends with uncommitted frames, ignoring "
		    "them", KV_S("generation", p->gen), KV_U("index", j->index),
		    KV_U("bytes", j->length - j->commit_end));
	if (j->commit_size != 0 && apply_frames(x, j, err, errlen) < 0)
		return -1;
	/* Applied: its space goes back before the next one's. */
	if (unlink(j->path) < 0) {
		errf(err, errlen, "remove %s: %s", j->path, strerror(errno));
		return -1;
	}
	elapsed(t0, el, sizeof(el));
	log_info("applied wal", KV_S("replica", p->client->name),
	    KV_S("generation", p->gen), KV_U("index", j->index),
	    KV_S("elapsed", el));
	return 0;
}

/* Splits the plan's segments into one job per index. */
static int
make_jobs(struct rs_ctx *x, char *err, size_t errlen)
{
	const struct restore_plan *p = x->p;
	size_t n = (size_t)(p->index_max - p->index_min) + 1, k = 0;

	if ((x->jobs = calloc(n, sizeof(*x->jobs))) == NULL) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	x->njobs = n;
	for (size_t i = 0; i < n; i++) {
		struct rs_job *j = &x->jobs[i];
		j->index = p->index_min + (uint32_t)i;
		j->first = k;
		while (k < p->nsegments && p->segments[k].index == j->index)
			k++;
		j->count = k - j->first;
		bfmt(j->path, sizeof(j->path), "%s/%08x.wal", x->tmpdir,
		    j->index);
	}
	return 0;
}

/* Waits for job I and applies it; on failure stops the workers. */
static int
apply_all(struct rs_ctx *x, char *err, size_t errlen)
{
	for (size_t i = 0; i < x->njobs; i++) {
		struct rs_job *j = &x->jobs[i];
		pthread_mutex_lock(&x->mu);
		while (j->state != JOB_DONE && j->state != JOB_FAILED &&
		    !(stopping(x) && j->state == JOB_PENDING))
			pthread_cond_wait(&x->cv, &x->mu);
		enum job_state st = j->state;
		const struct rs_job *bad = x->failed ? x->failed : j;
		pthread_mutex_unlock(&x->mu);
		if (st != JOB_DONE) {
			/* The job that failed, maybe a later one. */
			errf(err, errlen, "%s", bad->err);
			return -1;
		}
		if (apply_index(x, j, err, errlen) < 0)
			return -1;
		pthread_mutex_lock(&x->mu);
		x->applied = i + 1;
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->mu);
	}
	return 0;
}

static int
download_and_apply(struct rs_ctx *x, char *err, size_t errlen)
{
	const struct restore_opts *o = x->o;
	size_t nw = o->parallelism > 0 ? (size_t)o->parallelism :
	    RESTORE_DEFAULT_PARALLELISM;
	struct rs_worker *w;
	size_t started = 0;
	int rc;

	log_info("restoring wal files", KV_S("replica", x->p->client->name),
	    KV_S("generation", x->p->gen), KV_U("index_min", x->p->index_min),
	    KV_U("index_max", x->p->index_max));
	if (make_jobs(x, err, errlen) < 0)
		return -1;
	if (nw > RS_MAX_THREADS)
		nw = RS_MAX_THREADS;
	if (nw > x->njobs)
		nw = x->njobs;
	x->window = nw * 2;
	if ((w = calloc(nw, sizeof(*w))) == NULL) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nw; i++) {
		w[i].x = x;
		w[i].lz = lz4frame_reader_new(object_source, NULL);
		w[i].buf = malloc(RS_BUF);
		w[i].frame = malloc(SQLITEWAL_MAX_FRAME_SIZE);
		if (w[i].lz == NULL || w[i].buf == NULL || w[i].frame == NULL ||
		    pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	if (started == 0) {
		errf(err, errlen, "cannot start download threads");
		rc = -1;
	} else
		rc = apply_all(x, err, errlen);
	pthread_mutex_lock(&x->mu);
	stop_all(x);
	pthread_mutex_unlock(&x->mu);
	for (size_t i = 0; i < nw; i++) {
		if (i < started)
			pthread_join(w[i].tid, NULL);
		lz4frame_reader_free(w[i].lz);
		free(w[i].buf);
		free(w[i].frame);
	}
	free(w);
	return rc;
}

/* The WAL indexes onto the snapshot, through one descriptor. */
static int
restore_wal(struct rs_ctx *x, char *err, size_t errlen)
{
	int rc = -1;

	x->db_fd = open(x->db, O_WRONLY | O_CLOEXEC);
	if (x->db_fd < 0)
		errf(err, errlen, "open %s: %s", x->db, strerror(errno));
	else if ((x->apply_buf = malloc(RS_APPLY_BUF)) == NULL)
		errf(err, errlen, "out of memory");
	else
		rc = download_and_apply(x, err, errlen);
	if (x->db_fd >= 0 && close(x->db_fd) < 0 && rc == 0) {
		errf(err, errlen, "close %s: %s", x->db, strerror(errno));
		rc = -1;
	}
	x->db_fd = -1;
	free(x->apply_buf);
	x->apply_buf = NULL;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Finishing                                                           */
/* ------------------------------------------------------------------ */

/* Litestream's restores are in WAL mode: header bytes 18-19 = 2. */
static int
ensure_wal_mode(struct rs_ctx *x, char *err, size_t errlen)
{
	uint8_t b[20];
	sqlite3 *db;
	int fd = open(x->db, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof(b), 0);

	if (fd >= 0)
		close(fd);
	if (n < (ssize_t)sizeof(b)) {
		errf(err, errlen, "read %s: short or unreadable database",
		    x->db);
		return -1;
	}
	if (b[18] == 2 && b[19] == 2)
		return 0;
	if (sql_open(x, &db, err, errlen) < 0)
		return -1;
	if (sqlite3_exec(db, "PRAGMA journal_mode=wal", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		errf(err, errlen, "journal_mode=wal: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	return sql_close(x, db, err, errlen);
}

static int
integrity_check(struct rs_ctx *x, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc = -1;

	if (sql_open(x, &db, err, errlen) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		errf(err, errlen, "integrity_check: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (r != NULL && strcmp(r, "ok") == 0)
			rc = 0;
		else
			errf(err, errlen, "integrity check failed: %s",
			    r ? r : "?");
	} else
		errf(err, errlen, "integrity_check: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (sql_close(x, db, err, errlen) < 0)
		rc = -1;
	return rc;
}

static int
finish(struct rs_ctx *x, char *err, size_t errlen)
{
	const char *out = x->o->output, *base;
	char dir[RS_PATH];

	if (x->db_size > 0 && ensure_wal_mode(x, err, errlen) < 0)
		return -1;
	if (x->db_size > 0 && x->o->integrity_check &&
	    integrity_check(x, err, errlen) < 0)
		return -1;
	if (fsync_path(x->db, false) < 0) {
		errf(err, errlen, "fsync %s: %s", x->db, strerror(errno));
		return -1;
	}
	log_info("renaming database from temporary location",
	    KV_S("path", out));
	if (rename_noreplace(x->db, out) < 0) {
		if (errno == EEXIST)
			errf(err, errlen, "cannot restore, output path already "
			    "exists: %s", out);
		else
			errf(err, errlen, "rename %s to %s: %s", x->db, out,
			    strerror(errno));
		return -1;
	}
	split_path(out, dir, sizeof(dir), &base);
	if (fsync_path(dir, true) < 0)
		log_warn("cannot fsync directory", KV_S("path", dir), KV_ERR());
	return 0;
}

/* The private directory next to the output. */
static int
make_tmpdir(struct rs_ctx *x, char *err, size_t errlen)
{
	const char *out = x->o->output, *base;
	char dir[RS_PATH];

	split_path(out, dir, sizeof(dir), &base);
	if (base[0] == '\0') {
		errf(err, errlen, "invalid output path: %s", out);
		return -1;
	}
	if (mkdir_parents(dir) < 0) {
		errf(err, errlen, "create directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (bfmt(x->tmpdir, sizeof(x->tmpdir), "%s/.%.200s.walship-restore-"
	    "XXXXXX", dir, base) < 0 || strlen(x->tmpdir) + 220 >= RS_PATH) {
		errf(err, errlen, "output path too long: %s", out);
		x->tmpdir[0] = '\0';
		return -1;
	}
	if (mkdtemp(x->tmpdir) == NULL) {
		errf(err, errlen, "create temporary directory in %s: %s", dir,
		    strerror(errno));
		x->tmpdir[0] = '\0';
		return -1;
	}
	bfmt(x->db, sizeof(x->db), "%s/%.200s", x->tmpdir, base);
	bfmt(x->wal, sizeof(x->wal), "%s-wal", x->db);
	return 0;
}

static int
restore_exec(const struct restore_opts *o, const struct restore_plan *p,
    char *err, size_t errlen)
{
	struct rs_ctx x = { .o = o, .p = p, .db_fd = -1 };
	int rc = -1;

	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	if (make_tmpdir(&x, err, errlen) < 0 ||
	    restore_snapshot(&x, err, errlen) < 0)
		goto out;
	if (p->nsegments > 0) {
		if (restore_wal(&x, err, errlen) < 0)
			goto out;
	} else
		log_info("snapshot only, finalizing database",
		    KV_S("replica", p->client->name), KV_S("generation", p->gen));
	rc = finish(&x, err, errlen);
out:
	remove_tmpdir(x.tmpdir);
	free(x.jobs);
	pthread_cond_destroy(&x.cv);
	pthread_mutex_destroy(&x.mu);
	return rc;
}

int
restore_run(const struct restore_opts *o, char *err, size_t errlen)
{
	struct restore_plan p;
	struct stat st;
	int rc;

	if (o->output == NULL || o->output[0] == '\0') {
		errf(err, errlen, "output path required");
		return -1;
	}
	if (lstat(o->output, &st) == 0) {
		if (o->if_db_not_exists) {
			log_info("database already exists, skipping",
			    KV_S("path", o->output));
			return 0;
		}
		errf(err, errlen, "cannot restore, output path already exists: "
		    "%s", o->output);
		return -1;
	} else if (errno != ENOENT && errno != ENOTDIR) {
		errf(err, errlen, "cannot check output path %s: %s", o->output,
		    strerror(errno));
		return -1;
	}
	rc = restore_plan(o, &p, err, errlen);
	if (rc == RESTORE_NO_BACKUPS && o->if_replica_exists)
		log_info("no matching backups found");
	if (rc != 0)
		return rc;
	rc = restore_exec(o, &p, err, errlen);
	restore_plan_clear(&p);
	return rc;
}
