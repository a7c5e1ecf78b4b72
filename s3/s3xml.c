/*
 * s3xml: S3 response parsing on libexpat and request body building (see
 * s3xml.h for the contract and the limits).
 *
 * One small engine (struct xp) drives expat for every document type: it
 * keeps the stack of open element names (local parts), collects the text
 * of the innermost element, enforces the caps, refuses DOCTYPEs, and
 * calls the document's end-element handler with the path depth and the
 * text. Each parser is then a handler that looks at (depth, parent, name)
 * and stores what it needs.
 */
#include "s3xml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#define XP_NAME_LEN 64

struct xp {
	XML_Parser p;
	const char *root;		/* expected root, or NULL: any */
	const char *root2;		/* a second accepted root, or NULL */
	int depth;			/* open elements */
	char names[S3XML_MAX_DEPTH][XP_NAME_LEN];
	char text[S3XML_MAX_TEXT + 1];
	size_t textlen;
	unsigned long nelements;
	int (*on_end)(struct xp *, const char *name, const char *text);
	void *arg;
	int failed;
	char msg[160];
};

static void
xp_fail(struct xp *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	XML_StopParser(x->p, XML_FALSE);
}

/* The local part of NAME ("s3:Key" -> "Key"). */
static const char *
local_name(const char *name)
{
	const char *c = strrchr(name, ':');

	return c != NULL ? c + 1 : name;
}

/* The name of the element at depth D (1 = root). */
static const char *
xp_name(const struct xp *x, int d)
{
	return d >= 1 && d <= x->depth ? x->names[d - 1] : "";
}

static void XMLCALL
xp_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xp *x = ud;
	const char *ln = local_name(name);

	(void)attrs;
	if (x->failed)
		return;
	if (++x->nelements > S3XML_MAX_ELEMENTS) {
		xp_fail(x, "more than %d elements", S3XML_MAX_ELEMENTS);
		return;
	}
	if (x->depth >= S3XML_MAX_DEPTH) {
		xp_fail(x, "elements nested deeper than %d", S3XML_MAX_DEPTH);
		return;
	}
	if (x->depth == 0 && x->root != NULL && strcmp(ln, x->root) != 0 &&
	    (x->root2 == NULL || strcmp(ln, x->root2) != 0)) {
		xp_fail(x, "unexpected root element <%.60s>, want <%s>", ln,
		    x->root);
		return;
	}
	snprintf(x->names[x->depth], XP_NAME_LEN, "%s", ln);
	x->depth++;
	x->textlen = 0;
}

static void XMLCALL
xp_end(void *ud, const XML_Char *name)
{
	struct xp *x = ud;

	(void)name;
	if (x->failed)
		return;
	x->text[x->textlen] = '\0';
	if (x->on_end(x, x->names[x->depth - 1], x->text) != 0) {
		if (x->msg[0] == '\0')
			snprintf(x->msg, sizeof(x->msg), "bad element");
		x->failed = 1;
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	x->depth--;
	x->textlen = 0;
}

static void XMLCALL
xp_chars(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;

	if (x->failed || len <= 0)
		return;
	if ((size_t)len > S3XML_MAX_TEXT - x->textlen) {
		xp_fail(x, "text of <%s> longer than %d bytes",
		    xp_name(x, x->depth), S3XML_MAX_TEXT);
		return;
	}
	memcpy(x->text + x->textlen, s, (size_t)len);
	x->textlen += (size_t)len;
}

static void XMLCALL
xp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	xp_fail(ud, "document type declarations are not allowed");
}

static void XMLCALL
xp_entity(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	xp_fail(ud, "entity declarations are not allowed");
}

/*
 * Parses DOC with X's handler. Returns 0, or -1 with ERR filled in.
 */
static int
xp_run(struct xp *x, const char *what, const char *doc, size_t len,
    char *err, size_t errlen)
{
	enum XML_Status st;
	int rc = -1;

	if (len > S3XML_MAX_DOC) {
		snprintf(err, errlen, "%s: document of %zu bytes exceeds %u",
		    what, len, S3XML_MAX_DOC);
		return -1;
	}
	x->p = XML_ParserCreate("UTF-8");
	if (x->p == NULL) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -1;
	}
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, xp_start, xp_end);
	XML_SetCharacterDataHandler(x->p, xp_chars);
	XML_SetStartDoctypeDeclHandler(x->p, xp_doctype);
	XML_SetEntityDeclHandler(x->p, xp_entity);
	XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(x->p, doc, (int)len, 1);
	if (x->failed)
		snprintf(err, errlen, "%s: line %lu: %s", what,
		    (unsigned long)XML_GetCurrentLineNumber(x->p), x->msg);
	else if (st != XML_STATUS_OK)
		snprintf(err, errlen, "%s: malformed XML at line %lu: %s", what,
		    (unsigned long)XML_GetCurrentLineNumber(x->p),
		    XML_ErrorString(XML_GetErrorCode(x->p)));
	else
		rc = 0;
	XML_ParserFree(x->p);
	x->p = NULL;
	return rc;
}

static int
handler_error(struct xp *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void
copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* ---- numbers and dates ------------------------------------------------ */

static int
parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long n;

	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n < 0)
		return -1;
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (*end != '\0')
		return -1;
	*v = n;
	return 0;
}

static int
digits(const char *s, int n, int *v)
{
	int r = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return 0;
}

/* ".123456789" into ns; *P advanced past it. */
static int64_t
parse_fraction(const char **p)
{
	const char *s = *p;
	int64_t ns = 0, scale = 100000000;

	if (*s != '.')
		return 0;
	for (s++; *s >= '0' && *s <= '9'; s++) {
		ns += (*s - '0') * scale;
		scale /= 10;
	}
	*p = s;
	return ns;
}

int
s3xml_parse_time(const char *s, int64_t *ns)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac, off = 0;
	time_t t;

	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	s += 19;
	if (*s == '.' && (s[1] < '0' || s[1] > '9'))
		return -1;
	frac = parse_fraction(&s);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') && !digits(s + 1, 2, &oh) &&
	    s[3] == ':' && !digits(s + 4, 2, &om)) {
		off = (int64_t)(oh * 3600 + om * 60) * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ns = ((int64_t)t - off) * 1000000000LL + frac;
	return 0;
}

/* ---- ListBucketResult ------------------------------------------------- */

struct list_ctx {
	struct s3xml_list *out;
	size_t cap_obj, cap_pre;
	struct s3xml_object cur;	/* the <Contents> being read */
	int has_key, has_size;
};

static int
list_add_object(struct xp *x, struct list_ctx *c)
{
	struct s3xml_list *l = c->out;

	if (!c->has_key || !c->has_size) {
		free(c->cur.key);
		memset(&c->cur, 0, sizeof(c->cur));
		return handler_error(x, "<Contents> without %s",
		    c->has_key ? "<Size>" : "<Key>");
	}
	if (l->nobjects == c->cap_obj) {
		size_t n = c->cap_obj ? c->cap_obj * 2 : 64;
		void *p = realloc(l->objects, n * sizeof(*l->objects));

		if (p == NULL) {
			free(c->cur.key);
			return handler_error(x, "out of memory");
		}
		l->objects = p;
		c->cap_obj = n;
	}
	l->objects[l->nobjects++] = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	c->has_key = c->has_size = 0;
	return 0;
}

static int
list_add_prefix(struct xp *x, struct list_ctx *c, const char *text)
{
	struct s3xml_list *l = c->out;

	if (l->nprefixes == c->cap_pre) {
		size_t n = c->cap_pre ? c->cap_pre * 2 : 16;
		void *p = realloc(l->prefixes, n * sizeof(*l->prefixes));

		if (p == NULL)
			return handler_error(x, "out of memory");
		l->prefixes = p;
		c->cap_pre = n;
	}
	if ((l->prefixes[l->nprefixes] = strdup(text)) == NULL)
		return handler_error(x, "out of memory");
	l->nprefixes++;
	return 0;
}

static int
set_string(struct xp *x, char **dst, const char *text)
{
	free(*dst);
	if ((*dst = strdup(text)) == NULL)
		return handler_error(x, "out of memory");
	return 0;
}

/* <Key>, <Size>, <LastModified> inside <Contents>. */
static int
list_contents_field(struct xp *x, struct list_ctx *c, const char *name,
    const char *text)
{
	if (strcmp(name, "Key") == 0) {
		if (c->has_key)
			return handler_error(x, "<Contents> with two <Key>");
		if (strlen(text) > S3XML_MAX_KEY)
			return handler_error(x, "key longer than %d bytes",
			    S3XML_MAX_KEY);
		if ((c->cur.key = strdup(text)) == NULL)
			return handler_error(x, "out of memory");
		c->has_key = 1;
	} else if (strcmp(name, "Size") == 0) {
		if (parse_i64(text, &c->cur.size) != 0)
			return handler_error(x, "bad <Size> \"%.40s\"", text);
		c->has_size = 1;
	} else if (strcmp(name, "LastModified") == 0) {
		if (s3xml_parse_time(text, &c->cur.last_modified) != 0)
			return handler_error(x, "bad <LastModified> \"%.40s\"",
			    text);
	}
	return 0;
}

static int
list_on_end(struct xp *x, const char *name, const char *text)
{
	struct list_ctx *c = x->arg;
	const char *parent = xp_name(x, x->depth - 1);

	if (x->depth == 3 && strcmp(parent, "Contents") == 0)
		return list_contents_field(x, c, name, text);
	if (x->depth == 2 && strcmp(name, "Contents") == 0)
		return list_add_object(x, c);
	if (x->depth == 3 && strcmp(parent, "CommonPrefixes") == 0 &&
	    strcmp(name, "Prefix") == 0)
		return list_add_prefix(x, c, text);
	if (x->depth != 2)
		return 0;
	if (strcmp(name, "IsTruncated") == 0) {
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return handler_error(x, "bad <IsTruncated> \"%.20s\"",
			    text);
		c->out->is_truncated = strcmp(text, "true") == 0;
	} else if (strcmp(name, "NextMarker") == 0) {
		return set_string(x, &c->out->next_marker, text);
	} else if (strcmp(name, "NextContinuationToken") == 0) {
		return set_string(x, &c->out->next_token, text);
	}
	return 0;
}

int
s3xml_parse_list(const char *doc, size_t len, struct s3xml_list *out,
    char *err, size_t errlen)
{
	struct list_ctx c = { .out = out };
	struct xp *x;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "ListObjects result: out of memory");
		return -1;
	}
	x->root = "ListBucketResult";
	x->on_end = list_on_end;
	x->arg = &c;
	rc = xp_run(x, "ListObjects result", doc, len, err, errlen);
	free(c.cur.key);
	free(x);
	if (rc != 0)
		s3xml_list_free(out);
	return rc;
}

void
s3xml_list_free(struct s3xml_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->nobjects; i++)
		free(list->objects[i].key);
	for (size_t i = 0; i < list->nprefixes; i++)
		free(list->prefixes[i]);
	free(list->objects);
	free(list->prefixes);
	free(list->next_marker);
	free(list->next_token);
	memset(list, 0, sizeof(*list));
}

/* ---- Error ------------------------------------------------------------ */

/* A child of an <Error> element. */
static void
error_field(struct s3xml_error *e, const char *name, const char *text)
{
	if (strcmp(name, "Code") == 0)
		copy_field(e->code, sizeof(e->code), text);
	else if (strcmp(name, "Message") == 0)
		copy_field(e->message, sizeof(e->message), text);
	else if (strcmp(name, "Resource") == 0)
		copy_field(e->resource, sizeof(e->resource), text);
	else if (strcmp(name, "RequestId") == 0)
		copy_field(e->request_id, sizeof(e->request_id), text);
}

static int
error_on_end(struct xp *x, const char *name, const char *text)
{
	if (x->depth == 2)
		error_field(x->arg, name, text);
	return 0;
}

int
s3xml_parse_error(const char *doc, size_t len, struct s3xml_error *out,
    char *err, size_t errlen)
{
	struct xp *x;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "error body: out of memory");
		return -1;
	}
	x->root = "Error";
	x->on_end = error_on_end;
	x->arg = out;
	rc = xp_run(x, "error body", doc, len, err, errlen);
	free(x);
	if (rc == 0 && out->code[0] == '\0') {
		snprintf(err, errlen, "error body: no <Code>");
		rc = -1;
	}
	return rc;
}

/* ---- DeleteResult ----------------------------------------------------- */

struct delete_ctx {
	struct s3xml_delete *out;
	size_t cap;
	struct s3xml_delete_error cur;
};

static int
delete_add_error(struct xp *x, struct delete_ctx *c)
{
	struct s3xml_delete *d = c->out;

	if (d->nerrors == c->cap) {
		size_t n = c->cap ? c->cap * 2 : 16;
		void *p = realloc(d->errors, n * sizeof(*d->errors));

		if (p == NULL)
			return handler_error(x, "out of memory");
		d->errors = p;
		c->cap = n;
	}
	if (c->cur.key == NULL && (c->cur.key = strdup("")) == NULL)
		return handler_error(x, "out of memory");
	d->errors[d->nerrors++] = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	return 0;
}

static int
delete_on_end(struct xp *x, const char *name, const char *text)
{
	struct delete_ctx *c = x->arg;
	const char *parent = xp_name(x, x->depth - 1);

	if (x->depth == 2 && strcmp(name, "Deleted") == 0) {
		c->out->ndeleted++;
	} else if (x->depth == 2 && strcmp(name, "Error") == 0) {
		return delete_add_error(x, c);
	} else if (x->depth == 3 && strcmp(parent, "Error") == 0) {
		if (strcmp(name, "Key") == 0)
			return set_string(x, &c->cur.key, text);
		if (strcmp(name, "Code") == 0)
			copy_field(c->cur.code, sizeof(c->cur.code), text);
		else if (strcmp(name, "Message") == 0)
			copy_field(c->cur.message, sizeof(c->cur.message),
			    text);
	}
	return 0;
}

int
s3xml_parse_delete(const char *doc, size_t len, struct s3xml_delete *out,
    char *err, size_t errlen)
{
	struct delete_ctx c = { .out = out };
	struct xp *x;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "DeleteObjects result: out of memory");
		return -1;
	}
	x->root = "DeleteResult";
	x->on_end = delete_on_end;
	x->arg = &c;
	rc = xp_run(x, "DeleteObjects result", doc, len, err, errlen);
	free(c.cur.key);
	free(x);
	if (rc != 0)
		s3xml_delete_free(out);
	return rc;
}

void
s3xml_delete_free(struct s3xml_delete *del)
{
	if (del == NULL)
		return;
	for (size_t i = 0; i < del->nerrors; i++)
		free(del->errors[i].key);
	free(del->errors);
	memset(del, 0, sizeof(*del));
}

/* ---- multipart -------------------------------------------------------- */

static int
initiate_on_end(struct xp *x, const char *name, const char *text)
{
	if (x->depth == 2 && strcmp(name, "UploadId") == 0)
		return set_string(x, x->arg, text);
	return 0;
}

int
s3xml_parse_initiate(const char *doc, size_t len, char **upload_id,
    char *err, size_t errlen)
{
	struct xp *x;
	int rc;

	*upload_id = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "InitiateMultipartUpload: out of memory");
		return -1;
	}
	x->root = "InitiateMultipartUploadResult";
	x->on_end = initiate_on_end;
	x->arg = upload_id;
	rc = xp_run(x, "InitiateMultipartUpload result", doc, len, err,
	    errlen);
	free(x);
	if (rc == 0 && (*upload_id == NULL || **upload_id == '\0')) {
		snprintf(err, errlen,
		    "InitiateMultipartUpload result: no <UploadId>");
		rc = -1;
	}
	if (rc != 0) {
		free(*upload_id);
		*upload_id = NULL;
	}
	return rc;
}

struct complete_ctx {
	struct s3xml_error *s3err;
	int is_error;
};

static int
complete_on_end(struct xp *x, const char *name, const char *text)
{
	struct complete_ctx *c = x->arg;

	if (x->depth == 1)
		c->is_error = strcmp(name, "Error") == 0;
	else if (x->depth == 2 && strcmp(xp_name(x, 1), "Error") == 0)
		error_field(c->s3err, name, text);
	return 0;
}

int
s3xml_parse_complete(const char *doc, size_t len, struct s3xml_error *s3err,
    char *err, size_t errlen)
{
	struct complete_ctx c = { .s3err = s3err };
	struct xp *x;
	int rc;

	memset(s3err, 0, sizeof(*s3err));
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "CompleteMultipartUpload: out of memory");
		return -1;
	}
	x->root = "CompleteMultipartUploadResult";
	x->root2 = "Error";
	x->on_end = complete_on_end;
	x->arg = &c;
	rc = xp_run(x, "CompleteMultipartUpload result", doc, len, err,
	    errlen);
	free(x);
	if (rc != 0)
		return -1;
	if (c.is_error && s3err->code[0] == '\0')
		copy_field(s3err->code, sizeof(s3err->code), "InternalError");
	return c.is_error ? 1 : 0;
}

/* ---- request bodies --------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* S, XML-escaped. */
static void
sb_text(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': sb_str(b, "&amp;"); break;
		case '<': sb_str(b, "&lt;"); break;
		case '>': sb_str(b, "&gt;"); break;
		case '"': sb_str(b, "&quot;"); break;
		case '\'': sb_str(b, "&apos;"); break;
		case '\r': sb_str(b, "&#13;"); break;
		default: sb_add(b, s, 1); break;
		}
	}
}

static char *
sb_finish(struct sbuf *b, size_t *len)
{
	if (b->oom) {
		free(b->p);
		errno = ENOMEM;
		return NULL;
	}
	*len = b->len;
	return b->p;
}

#define S3XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

char *
s3xml_build_delete(const char *const *keys, size_t nkeys, bool quiet,
    size_t *len)
{
	struct sbuf b = { 0 };

	sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<Delete xmlns=\"" S3XML_NS "\">");
	for (size_t i = 0; i < nkeys; i++) {
		sb_str(&b, "<Object><Key>");
		sb_text(&b, keys[i]);
		sb_str(&b, "</Key></Object>");
	}
	if (quiet)
		sb_str(&b, "<Quiet>true</Quiet>");
	sb_str(&b, "</Delete>");
	return sb_finish(&b, len);
}

char *
s3xml_build_complete(const char *const *etags, size_t nparts, size_t *len)
{
	struct sbuf b = { 0 };
	char num[32];

	sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<CompleteMultipartUpload xmlns=\"" S3XML_NS "\">");
	for (size_t i = 0; i < nparts; i++) {
		snprintf(num, sizeof(num), "%zu", i + 1);
		sb_str(&b, "<Part><PartNumber>");
		sb_str(&b, num);
		sb_str(&b, "</PartNumber><ETag>");
		sb_text(&b, etags[i]);
		sb_str(&b, "</ETag></Part>");
	}
	sb_str(&b, "</CompleteMultipartUpload>");
	return sb_finish(&b, len);
}
