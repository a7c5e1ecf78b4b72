/*
 * snapshot: see snapshot.h. Memory is one page buffer plus an index of the
 * pages in the current shadow index (8 bytes a frame), bounded by the
 * checkpoint thresholds rather than by the database's size.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shadow.h"
#include "sqlitewal.h"
#include "io.h"

struct page_ref {
	uint32_t pgno;
	uint32_t frame; /* frame number within the shadow index */
};

static int
cmp_ref(const void *a, const void *b)
{
	const struct page_ref *x = a, *y = b;
	if (x->pgno != y->pgno)
		return x->pgno < y->pgno ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* A short read (the file shrank under us) is an error here. */
static int
read_exact(int fd, uint8_t *buf, size_t len, off_t off)
{
	ssize_t n = io_pread_full(fd, buf, len, off);
	if (n >= 0 && (size_t)n != len)
		errno = EIO;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

/* Indexes the shadow's frames by page (last version wins after sorting). */
static struct page_ref *
index_shadow(int fd, uint64_t size, uint32_t page_size, size_t *nrefs,
    uint32_t *db_pages)
{
	size_t fsz = sqlitewal_frame_size(page_size);
	size_t n = size > SQLITEWAL_HDR_SIZE ?
	    (size_t)((size - SQLITEWAL_HDR_SIZE) / fsz) : 0;
	struct page_ref *refs = calloc(n ? n : 1, sizeof(*refs));
	uint8_t fh[SQLITEWAL_FRAME_HDR_SIZE];

	if (refs == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		off_t off = (off_t)(SQLITEWAL_HDR_SIZE + i * fsz);
		if (read_exact(fd, fh, sizeof(fh), off) < 0) {
			free(refs);
			return NULL;
		}
		refs[i].pgno = sqlitewal_get32(fh);
		refs[i].frame = (uint32_t)i;
		if (sqlitewal_get32(fh + 4) != 0)
			*db_pages = sqlitewal_get32(fh + 4);
	}
	qsort(refs, n, sizeof(*refs), cmp_ref);
	*nrefs = n;
	return refs;
}

int64_t
snapshot_stream(const struct shadow *s, int dfd, snapshot_sink sink,
    void *arg)
{
	char path[4096];
	struct stat st;
	struct page_ref *refs = NULL;
	uint8_t *page = malloc(s->page_size);
	size_t nrefs = 0, r = 0;
	uint32_t db_pages = 0;
	int64_t total = -1;
	int sfd = -1;

	if (page == NULL || dfd < 0 || fstat(dfd, &st) < 0)
		goto out;
	if (s->size > 0) {
		shadow_wal_path(s->meta, s->gen, s->index, path, sizeof(path));
		if ((sfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			goto out;
		refs = index_shadow(sfd, s->size, s->page_size, &nrefs,
		    &db_pages);
		if (refs == NULL)
			goto out;
	}
	if (db_pages == 0)
		db_pages = (uint32_t)((uint64_t)st.st_size / s->page_size);
	for (uint32_t pg = 1; pg <= db_pages; pg++) {
		while (r < nrefs && refs[r].pgno < pg)
			r++;
		/* The last frame for this page is the newest version. */
		size_t last = r;
		while (last + 1 < nrefs && refs[last + 1].pgno == pg)
			last++;
		if (r < nrefs && refs[r].pgno == pg) {
			off_t off = (off_t)(SQLITEWAL_HDR_SIZE +
			    (uint64_t)refs[last].frame *
			    sqlitewal_frame_size(s->page_size) +
			    SQLITEWAL_FRAME_HDR_SIZE);
			if (read_exact(sfd, page, s->page_size, off) < 0)
				goto out;
			r = last + 1;
		} else if (read_exact(dfd, page, s->page_size,
		    (off_t)(pg - 1) * s->page_size) < 0) {
			goto out;
		}
		if (sink(arg, page, s->page_size) < 0)
			goto out;
	}
	total = (int64_t)db_pages * s->page_size;
out:
	if (total < 0)
		log_error("cannot read database for snapshot", KV_ERR());
	free(refs);
	free(page);
	if (sfd >= 0)
		close(sfd);
	return total;
}
