/*
 * s3list: listings, page by page (see s3client.h).
 *
 * ListObjectsV2 first (list-type=2, continuation-token); a store that
 * answers the first page with NotImplemented, HTTP 501 or HTTP 400 is
 * asked again with ListObjects v1, and the client remembers it. v1 pages
 * on NextMarker, else on the greatest key or prefix of the page (format
 * doc §7.1). A page that does not move the listing forward (a repeated
 * token or marker) is an error rather than a loop. Each page is handed to
 * the caller and dropped, so memory does not grow with the listing.
 */
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

#define LIST_QUERY_LEN (S3ADDR_MAX_KEY * 6 + 512)

struct list_op {
	struct s3op op;
	char prefix[S3ADDR_MAX_KEY + 1];	/* full */
	char *delimiter;
	char *start_after;			/* full key, or NULL */
	char *token;				/* v2 */
	char *marker;				/* v1 */
	bool v1, first;
	s3_list_fn *page;
	void *parg;
	struct s3req *req;
};

static void list_done(struct s3req *r, const struct s3_error *err);

static void
list_destroy(struct s3op *op)
{
	struct list_op *l = (struct list_op *)op;

	s3req_free(l->req);
	free(l->delimiter);
	free(l->start_after);
	free(l->token);
	free(l->marker);
	free(l);
}

static void
list_fail(struct list_op *l, int errnum, const char *code, const char *msg)
{
	s3ops_local_error(l->op.c, &l->op.err, l->v1 ? "ListObjects" :
	    "ListObjectsV2", l->prefix, errnum, code, msg);
	s3op_finish(&l->op, -1);
}

/* The query of the next page into Q. */
static int
list_query(struct list_op *l, char *q, size_t len)
{
	struct s3addr_param p[6];
	char maxkeys[16];
	size_t n = 0;

	p[n++] = (struct s3addr_param){ "prefix", l->prefix };
	if (l->delimiter != NULL)
		p[n++] = (struct s3addr_param){ "delimiter", l->delimiter };
	if (l->op.c->cfg.list_max_keys > 0) {
		snprintf(maxkeys, sizeof(maxkeys), "%u",
		    l->op.c->cfg.list_max_keys);
		p[n++] = (struct s3addr_param){ "max-keys", maxkeys };
	}
	if (!l->v1) {
		p[n++] = (struct s3addr_param){ "list-type", "2" };
		if (l->token != NULL)
			p[n++] = (struct s3addr_param){ "continuation-token",
			    l->token };
		else if (l->start_after != NULL)
			p[n++] = (struct s3addr_param){ "start-after",
			    l->start_after };
	} else if (l->marker != NULL) {
		p[n++] = (struct s3addr_param){ "marker", l->marker };
	}
	return s3addr_query(p, n, q, len);
}

/* Sends the next page's request. Returns 0, or -1 with nothing sent. */
static int
list_send(struct list_op *l)
{
	char q[LIST_QUERY_LEN];

	if (list_query(l, q, sizeof(q)) != 0)
		return -1;
	l->req = s3req_new(&l->op, l->v1 ? "ListObjects" : "ListObjectsV2",
	    S3_STAT_LIST, "GET", "", q, NULL, 0);
	if (l->req == NULL || s3req_start(l->req, list_done) != 0) {
		s3req_free(l->req);
		l->req = NULL;
		return -1;
	}
	return 0;
}

/* Hands the page to the caller. Returns 0, or -1 if it said stop. */
static int
list_deliver(struct list_op *l, const struct s3xml_list *page)
{
	struct s3client *c = l->op.c;
	struct s3_list_entry *e;
	size_t n = 0;
	int rc;

	e = calloc(page->nobjects + page->nprefixes + 1, sizeof(*e));
	if (e == NULL)
		return -1;
	for (size_t i = 0; i < page->nobjects; i++) {
		const char *rel = s3client_rel_key(c, page->objects[i].key);

		if (rel != NULL)
			e[n++] = (struct s3_list_entry){ rel,
			    page->objects[i].size,
			    page->objects[i].last_modified, false };
	}
	for (size_t i = 0; i < page->nprefixes; i++) {
		const char *rel = s3client_rel_key(c, page->prefixes[i]);

		if (rel != NULL)
			e[n++] = (struct s3_list_entry){ rel, -1, 0, true };
	}
	l->op.res.count += n;
	rc = n > 0 ? l->page(e, n, l->parg) : 0;
	free(e);
	return rc == 0 ? 0 : -1;
}

/* Where the next v1 page starts: NextMarker, else the greatest name. */
static const char *
v1_next_marker(const struct s3xml_list *page)
{
	const char *m = NULL;

	if (page->next_marker != NULL && *page->next_marker != '\0')
		return page->next_marker;
	if (page->nobjects > 0)
		m = page->objects[page->nobjects - 1].key;
	if (page->nprefixes > 0 && (m == NULL ||
	    strcmp(page->prefixes[page->nprefixes - 1], m) > 0))
		m = page->prefixes[page->nprefixes - 1];
	return m;
}

/* Moves L to the next page. Returns 0, or -1 after failing L. */
static int
list_advance(struct list_op *l, const struct s3xml_list *page)
{
	const char *next = l->v1 ? v1_next_marker(page) : page->next_token;
	char **cur = l->v1 ? &l->marker : &l->token;

	if (next == NULL || *next == '\0' ||
	    (*cur != NULL && (l->v1 ? strcmp(next, *cur) <= 0 :
	    strcmp(next, *cur) == 0))) {
		list_fail(l, EPROTO, "MalformedResponse", "a truncated listing "
		    "page gives no way forward (no new marker or token)");
		return -1;
	}
	free(*cur);
	if ((*cur = strdup(next)) == NULL) {
		list_fail(l, ENOMEM, "RequestFailed", "out of memory");
		return -1;
	}
	return 0;
}

/* The first page got NotImplemented or 400 to list-type=2. */
static bool
wants_v1(const struct list_op *l, const struct s3_error *err)
{
	return !l->v1 && l->first && (err->http_status == 400 ||
	    err->http_status == 501 || strcmp(err->code, "NotImplemented") == 0);
}

static void
list_done(struct s3req *r, const struct s3_error *err)
{
	struct list_op *l = (struct list_op *)r->op;
	struct s3xml_list page;
	char perr[200];

	if (err != NULL && wants_v1(l, err)) {
		l->v1 = l->op.c->list_v1 = true;
		if (l->start_after != NULL &&
		    (l->marker = strdup(l->start_after)) == NULL) {
			list_fail(l, ENOMEM, "RequestFailed", "no memory");
			return;
		}
	} else if (err != NULL) {
		l->op.err = *err;
		s3op_finish(&l->op, -1);
		return;
	} else {
		if (s3xml_parse_list(r->resp, r->resp_len, &page, perr,
		    sizeof(perr)) != 0) {
			list_fail(l, EPROTO, "MalformedResponse", perr);
			return;
		}
		if (list_deliver(l, &page) != 0) {
			s3xml_list_free(&page);
			list_fail(l, ECANCELED, "Aborted",
			    "the listing was stopped by its caller");
			return;
		}
		if (!page.is_truncated) {
			s3xml_list_free(&page);
			s3op_finish(&l->op, 0);
			return;
		}
		l->first = false;
		if (list_advance(l, &page) != 0) {
			s3xml_list_free(&page);
			return;
		}
		s3xml_list_free(&page);
	}
	s3req_free(l->req);
	l->req = NULL;
	if (list_send(l) != 0)
		list_fail(l, ENOMEM, "RequestFailed", "cannot start a request");
}

/* The full listing prefix: under the client's prefix, never above it. */
static int
list_prefix(struct s3client *c, const char *rel, char *out, size_t len)
{
	size_t n;

	if (s3client_key(c, rel ? rel : "", out, len) != 0)
		return -1;
	n = strlen(out);
	if ((rel == NULL || strspn(rel, "/") == strlen(rel)) && n > 0) {
		if (n + 2 > len)
			return -1;
		out[n] = '/';
		out[n + 1] = '\0';
	}
	return 0;
}

int
s3client_list(struct s3client *c, const char *prefix, const char *delimiter,
    const char *start_after, s3_list_fn *page, void *parg, s3_done_fn *done,
    void *arg)
{
	struct list_op *l = calloc(1, sizeof(*l));
	char key[S3ADDR_MAX_KEY + 1];

	if (l == NULL)
		return -1;
	s3op_link(c, &l->op, list_destroy, done, arg);
	l->page = page;
	l->parg = parg;
	l->v1 = c->list_v1;
	l->first = true;
	if (page == NULL || list_prefix(c, prefix, l->prefix,
	    sizeof(l->prefix)) != 0 ||
	    (delimiter != NULL && *delimiter != '\0' &&
	    (l->delimiter = strdup(delimiter)) == NULL) ||
	    (start_after != NULL && *start_after != '\0' &&
	    (s3client_key(c, start_after, key, sizeof(key)) != 0 ||
	    (l->start_after = strdup(key)) == NULL ||
	    (l->v1 && (l->marker = strdup(key)) == NULL))) ||
	    list_send(l) != 0) {
		s3op_abandon(&l->op);
		errno = EINVAL;
		return -1;
	}
	return 0;
}
