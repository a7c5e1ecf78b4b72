/*
 * SigV4 signing of s3/sigv4.c against AWS's published vectors (see
 * tests/unit/sigv4_vectors/README.md) and on its own edge cases.
 *
 * The vectors are read from tests/unit/sigv4_vectors (the runner's cwd is
 * the repository root) or from $SIGV4_VECTORS. Cases are found by walking
 * the folders, and each suite asserts a minimum case count, so a missing
 * or skipped folder fails the test instead of passing quietly.
 *
 * Classic suite (<case>/<case>.req/.creq/.sts/.authz): the .req is raw
 * HTTP; every header in it is signed as given. v4 suite (<case>/
 * context.json, request.txt, header-*, query-*): the signer adds
 * X-Amz-Date (and the token and body hash as context.json says).
 * s3-examples.json: the S3 layer, SIGV4_RULES_S3.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sigv4.h"
#include "test.h"

/* The credentials both suites assume (no context file in the classic). */
#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_REGION "us-east-1"
#define SUITE_SERVICE "service"

/* How many cases the vectors' README says apply. */
#define CLASSIC_CASES 31	/* 22 top-level, 7 normalize-path, 2 sts */
#define CLASSIC_S3_CASES 25	/* all but 6 path-normalization cases */
#define V4_CASES 38
#define V4_S3_CASES 32		/* all but 6 *-normalized cases */
#define S3_HEADER_EXAMPLES 4
#define S3_QUERY_EXAMPLES 1

#define MAX_HEADERS 32

/* ---- files ---------------------------------------------------------- */

static const char *
vectors_dir(void)
{
	const char *d = getenv("SIGV4_VECTORS");

	return d != NULL && *d != '\0' ? d : "tests/unit/sigv4_vectors";
}

/* The whole file DIR/NAME, NUL-terminated, or NULL. */
static char *
slurp(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) || (f = fopen(path, "rb")) == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *p = realloc(buf, cap + 8192);

			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The subdirectories of DIR, sorted; *N is their count. */
static char **
subdirs(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		char **p;

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if ((p = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			break;
		v = p;
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v;
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- raw HTTP requests (.req, request.txt, *-signed-request.txt) ---- */

struct http_req {
	char *buf;		/* owns every string below */
	const char *method, *path, *query;	/* query NULL without '?' */
	struct sigv4_header hdr[MAX_HEADERS];
	size_t nhdr;
	const char *body;
	size_t bodylen;
};

/*
 * Splits the request line: the method ends at the first space and the
 * version starts after the last one, since targets may hold spaces.
 */
static int
parse_request_line(char *line, struct http_req *r)
{
	char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' '), *q;

	if (sp1 == NULL || sp2 == sp1)
		return -1;
	*sp1 = '\0';
	*sp2 = '\0';
	r->method = line;
	r->path = sp1 + 1;
	if ((q = strchr(sp1 + 1, '?')) != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	return 0;
}

/*
 * Parses TEXT (taken over) into R. A leading BOM is skipped; folded
 * header lines (starting with a space or tab) are joined to the previous
 * one with spaces; the body follows the first empty line.
 */
static int
parse_http(char *text, struct http_req *r)
{
	char *p = text, *end, *line;

	memset(r, 0, sizeof(*r));
	r->buf = text;
	r->body = "";
	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if ((end = strstr(p, "\n\n")) != NULL) {
		r->body = end + 2;
		r->bodylen = strlen(end + 2);
		end[1] = '\0';
	}
	for (char *c = p; (c = strchr(c, '\n')) != NULL; c++) {
		if (c[1] == ' ' || c[1] == '\t')
			*c = ' ';
	}
	line = strsep(&p, "\n");
	if (parse_request_line(line, r) == -1)
		return -1;
	while ((line = strsep(&p, "\n")) != NULL && *line != '\0') {
		char *colon = strchr(line, ':');

		if (colon == NULL || r->nhdr == MAX_HEADERS)
			return -1;
		*colon = '\0';
		r->hdr[r->nhdr].name = line;
		r->hdr[r->nhdr++].value = colon + 1;
	}
	return 0;
}

static const char *
http_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdr; i++) {
		if (strcasecmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	}
	return NULL;
}

/* ---- a minimal JSON reader (objects, arrays, strings, literals) ----- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	char *str;		/* J_STR text; J_NUM literal */
	int b;
	struct jval *items;	/* J_ARR elements, J_OBJ values */
	char **keys;		/* J_OBJ */
	size_t n;
};

static int json_value(const char **p, struct jval *v);

static void
json_free(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		json_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

static void
json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* Appends the UTF-8 form of code point CP (BMP only) at *O. */
static void
put_utf8(char **o, unsigned cp)
{
	if (cp < 0x80) {
		*(*o)++ = (char)cp;
	} else if (cp < 0x800) {
		*(*o)++ = (char)(0xc0 | cp >> 6);
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*(*o)++ = (char)(0xe0 | cp >> 12);
		*(*o)++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*(*o)++ = (char)(0x80 | (cp & 0x3f));
	}
}

static char *
json_string(const char **p)
{
	const char *s = *p + 1;
	char *out = malloc(strlen(s) + 1), *o = out;

	for (; out != NULL && *s != '"'; s++) {
		unsigned cp;

		if (*s == '\0' || (unsigned char)*s < 0x20)
			goto bad;
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case '"': case '\\': case '/': *o++ = *s; break;
		case 'u':
			if (sscanf(s + 1, "%4x", &cp) != 1 ||
			    (cp >= 0xd800 && cp < 0xe000))
				goto bad;
			put_utf8(&o, cp);
			s += 4;
			break;
		default:
			goto bad;
		}
	}
	if (out == NULL)
		return NULL;
	*o = '\0';
	*p = s + 1;
	return out;
bad:
	free(out);
	return NULL;
}

/* Parses a JSON array or object body after its opening bracket. */
static int
json_members(const char **p, struct jval *v, char close)
{
	json_ws(p);
	if (**p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		struct jval *items = realloc(v->items, (v->n + 1) *
		    sizeof(*items));
		char **keys = NULL;

		if (items == NULL)
			return -1;
		v->items = items;
		memset(&v->items[v->n], 0, sizeof(*v->items));
		if (close == '}') {
			if ((keys = realloc(v->keys, (v->n + 1) *
			    sizeof(*keys))) == NULL)
				return -1;
			v->keys = keys;
			json_ws(p);
			if (**p != '"' || (keys[v->n] = json_string(p)) == NULL)
				return -1;
			json_ws(p);
			if (*(*p)++ != ':')
				return -1;
		}
		v->n++;
		if (json_value(p, &v->items[v->n - 1]) == -1)
			return -1;
		json_ws(p);
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (*(*p)++ != ',')
			return -1;
	}
}

static int
json_value(const char **p, struct jval *v)
{
	json_ws(p);
	if (**p == '{' || **p == '[') {
		v->type = **p == '{' ? J_OBJ : J_ARR;
		(*p)++;
		return json_members(p, v, v->type == J_OBJ ? '}' : ']');
	}
	if (**p == '"') {
		v->type = J_STR;
		return (v->str = json_string(p)) != NULL ? 0 : -1;
	}
	if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "false", 5) == 0) {
		v->type = J_BOOL;
		v->b = **p == 't';
		*p += v->b ? 4 : 5;
		return 0;
	}
	if (strncmp(*p, "null", 4) == 0) {
		*p += 4;
		return 0;
	}
	if (**p == '-' || (**p >= '0' && **p <= '9')) {
		size_t n = strspn(*p, "-+.eE0123456789");

		v->type = J_NUM;
		v->str = strndup(*p, n);
		*p += n;
		return v->str != NULL ? 0 : -1;
	}
	return -1;
}

static int
json_parse(const char *text, struct jval *v)
{
	memset(v, 0, sizeof(*v));
	if (json_value(&text, v) == -1) {
		json_free(v);
		return -1;
	}
	json_ws(&text);
	return *text == '\0' ? 0 : -1;
}

static const struct jval *
jget(const struct jval *o, const char *key)
{
	for (size_t i = 0; o != NULL && o->type == J_OBJ && i < o->n; i++) {
		if (strcmp(o->keys[i], key) == 0)
			return &o->items[i];
	}
	return NULL;
}

/* The string at KEY, or NULL. */
static const char *
jstr(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);

	return v != NULL && v->type == J_STR ? v->str : NULL;
}

static int
jbool(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);

	return v != NULL && v->type == J_BOOL && v->b;
}

static long
jnum(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);

	return v != NULL && v->type == J_NUM ? strtol(v->str, NULL, 10) : 0;
}

/* ---- helpers for the vector cases ------------------------------------ */

/*
 * A vector case runs between case_begin and case_end: its failed
 * assertions are printed and mark the test failed, the loop goes on with
 * the next case, and case_end says whether this one passed.
 */
static int case_failed_before_;

static void
case_begin(void)
{
	case_failed_before_ |= test_cur_failed_;
	test_cur_failed_ = 0;
}

/* True if the case passed; restores the test's own failure mark. */
static int
case_end(const char *suite, const char *name)
{
	int ok = !test_cur_failed_;

	if (!ok)
		printf("    in %s case %s\n", suite, name);
	test_cur_failed_ |= case_failed_before_;
	case_failed_before_ = 0;
	return ok;
}

static char *
join_path(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) == -1)
		return NULL;
	return s;
}

/* The second line of a canonical request: the canonical URI. */
static char *
creq_uri(const char *creq)
{
	const char *p = strchr(creq, '\n');

	return p == NULL ? strdup("") : strndup(p + 1, strcspn(p + 1, "\n"));
}

static char *
trim_dup(const char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted bag of strings, to compare header sets and query parameters. */
struct bag {
	char *v[MAX_HEADERS * 2];
	size_t n;
};

static void
bag_add(struct bag *b, char *s)
{
	if (s != NULL && b->n < sizeof(b->v) / sizeof(b->v[0]))
		b->v[b->n++] = s;
	else
		free(s);
}

static void
bag_add_header(struct bag *b, const char *name, const char *value)
{
	char *v = trim_dup(value), *s = NULL;

	if (v != NULL && asprintf(&s, "%s:%s", name, v) != -1) {
		for (char *p = s; *p != ':'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
	}
	free(v);
	bag_add(b, s);
}

static void
bag_free(struct bag *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	b->n = 0;
}

static int
bag_equal(struct bag *a, struct bag *b)
{
	qsort(a->v, a->n, sizeof(a->v[0]), str_cmp);
	qsort(b->v, b->n, sizeof(b->v[0]), str_cmp);
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i], b->v[i]) != 0) {
			printf("  differ: \"%s\" vs \"%s\"\n", a->v[i],
			    b->v[i]);
			return 0;
		}
	}
	return 1;
}

/* One query part as sent, with valid %XX decoded and then re-encoded. */
static char *
recode(const char *s, size_t n)
{
	char *raw = malloc(n + 1), *out;
	size_t len = 0, need;
	unsigned x;

	if (raw == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &x) ==
		    1 && strspn(s + i + 1, "0123456789abcdefABCDEF") >= 2) {
			raw[len++] = (char)x;
			i += 2;
		} else {
			raw[len++] = s[i];
		}
	}
	need = sigv4_uri_encode(NULL, 0, raw, len, 0);
	if ((out = malloc(need + 1)) != NULL)
		sigv4_uri_encode(out, need + 1, raw, len, 0);
	free(raw);
	return out;
}

/* Adds the parameters of QUERY (as sent) to B, each as "name=value". */
static void
bag_add_query(struct bag *b, const char *query)
{
	while (query != NULL && *query != '\0') {
		size_t n = strcspn(query, "&");
		const char *eq = memchr(query, '=', n);
		size_t nl = eq != NULL ? (size_t)(eq - query) : n;
		char *name = recode(query, nl), *value = NULL, *s = NULL;

		if (eq != NULL)
			value = recode(eq + 1, n - nl - 1);
		if (name != NULL && asprintf(&s, "%s=%s", name,
		    value != NULL ? value : "") == -1)
			s = NULL;
		bag_add(b, s);
		free(name);
		free(value);
		query += n + (query[n] == '&');
	}
}

static void
sha256_of(const char *s, size_t n, char hex[SIGV4_HEX_LEN + 1])
{
	if (sigv4_sha256_hex(s, n, hex) == -1)
		hex[0] = '\0';
}

/* ---- the classic suite ----------------------------------------------- */

struct classic_vec {
	const char *name;
	int normalizes;		/* a path-normalization case */
	struct http_req req;
	char *creq, *sts, *authz;
	char body_hash[SIGV4_HEX_LEN + 1];
};

static int classic_generic, classic_s3, classic_s3_changed;

/* Cases whose expected values assume path normalization. */
static int
classic_normalizes(const char *dir, const char *name)
{
	static const char *const names[] = { "get-relative",
	    "get-relative-relative", "get-slash", "get-slash-dot-slash",
	    "get-slash-pointless-dot", "get-slashes" };
	size_t dl = strlen(dir), nl = strlen(name);

	/* DIR is .../normalize-path/NAME */
	if (dl < nl + 16 || strncmp(dir + dl - nl - 16, "/normalize-path/",
	    16) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0)
			return 1;
	}
	return 0;
}

static void
classic_request(const struct classic_vec *c, unsigned flags,
    struct sigv4_request *r)
{
	memset(r, 0, sizeof(*r));
	r->method = c->req.method;
	r->path = c->req.path;
	r->query = c->req.query;
	r->headers = c->req.hdr;
	r->nheaders = c->req.nhdr;
	r->payload_hash = c->body_hash;
	r->amz_date = http_header(&c->req, "X-Amz-Date");
	r->region = SUITE_REGION;
	r->service = SUITE_SERVICE;
	r->access_key_id = SUITE_AKID;
	r->secret_key = SUITE_SECRET;
	r->flags = flags;
}

/* Generic rules: every classic case. */
static void
classic_check_generic(const struct classic_vec *c)
{
	struct sigv4_request r;
	struct sigv4_result res;

	classic_request(c, SIGV4_RULES_GENERIC, &r);
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	ASSERT_INT_EQ(res.nadded, 0);	/* every header was in the .req */
	ASSERT_STR_EQ(res.canonical_request, c->creq);
	ASSERT_STR_EQ(res.string_to_sign, c->sts);
	ASSERT_STR_EQ(res.authorization, c->authz);
	sigv4_result_free(&res);
}

/*
 * S3 rules: the same values, except for the normalization cases, whose
 * canonical URI must then be the path exactly as given.
 */
static void
classic_check_s3(const struct classic_vec *c)
{
	struct sigv4_request r;
	struct sigv4_result res;
	char *uri;

	classic_request(c, 0, &r);
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	uri = creq_uri(res.canonical_request);
	if (c->normalizes) {
		ASSERT(strcmp(res.canonical_request, c->creq) != 0);
		ASSERT_STR_EQ(uri, c->req.path);
	} else {
		ASSERT_STR_EQ(res.canonical_request, c->creq);
		ASSERT_STR_EQ(res.string_to_sign, c->sts);
		ASSERT_STR_EQ(res.authorization, c->authz);
	}
	free(uri);
	sigv4_result_free(&res);
}

static char *
slurp_ext(const char *dir, const char *name, const char *ext)
{
	char file[512];

	(void)snprintf(file, sizeof(file), "%s.%s", name, ext);
	return slurp(dir, file);
}

static void
classic_case(const char *dir, const char *name)
{
	struct classic_vec c = { .name = name };
	char *text = slurp_ext(dir, name, "req");
	int loaded;

	c.creq = slurp_ext(dir, name, "creq");
	c.sts = slurp_ext(dir, name, "sts");
	c.authz = slurp_ext(dir, name, "authz");
	c.normalizes = classic_normalizes(dir, name);
	loaded = text != NULL && parse_http(text, &c.req) == 0 &&
	    c.creq != NULL && c.sts != NULL && c.authz != NULL;
	if (text != NULL && c.req.buf == NULL)
		free(text);
	case_begin();
	if (loaded) {
		sha256_of(c.req.body, c.req.bodylen, c.body_hash);
		classic_check_generic(&c);
	} else {
		printf("  %s/%s: unreadable vector files\n", dir, name);
		test_cur_failed_ = 1;
	}
	classic_generic += case_end("classic generic", name);
	if (loaded) {
		case_begin();
		classic_check_s3(&c);
		if (case_end("classic s3", name)) {
			if (c.normalizes)
				classic_s3_changed++;
			else
				classic_s3++;
		}
	}
	free(c.req.buf);
	free(c.creq);
	free(c.sts);
	free(c.authz);
}

/* A folder is a case when it holds <folder>.req; others are groups. */
static void
classic_walk(const char *dir, int depth)
{
	size_t n;
	char **subs = subdirs(dir, &n);

	for (size_t i = 0; i < n; i++) {
		char *path = join_path(dir, subs[i]), *req;

		if (path == NULL)
			continue;
		if ((req = slurp_ext(path, subs[i], "req")) != NULL)
			classic_case(path, subs[i]);
		else if (depth < 2)
			classic_walk(path, depth + 1);
		free(req);
		free(path);
	}
	free_names(subs, n);
}

TEST(classic_suite)
{
	char *dir = join_path(vectors_dir(), "aws-sig-v4-test-suite");

	ASSERT(dir != NULL);
	classic_walk(dir, 0);
	free(dir);
	printf("  classic suite: %d/%d generic, %d/%d s3 (+%d normalization "
	    "cases differ under s3 rules)\n", classic_generic, CLASSIC_CASES,
	    classic_s3, CLASSIC_S3_CASES, classic_s3_changed);
	ASSERT(classic_generic >= CLASSIC_CASES);
	ASSERT(classic_s3 >= CLASSIC_S3_CASES);
	ASSERT_INT_EQ(classic_s3_changed, CLASSIC_CASES - CLASSIC_S3_CASES);
}

/* ---- the v4 suite ---------------------------------------------------- */

enum v4_file {
	HDR_CREQ, HDR_STS, HDR_SIG, HDR_SREQ,
	QRY_CREQ, QRY_STS, QRY_SIG, QRY_SREQ, V4_NFILES
};

static const char *const v4_files[V4_NFILES] = {
	"header-canonical-request.txt", "header-string-to-sign.txt",
	"header-signature.txt", "header-signed-request.txt",
	"query-canonical-request.txt", "query-string-to-sign.txt",
	"query-signature.txt", "query-signed-request.txt",
};

struct v4_vec {
	const char *dir, *name;
	struct jval ctx;
	const struct jval *creds;
	const char *token;
	struct http_req req;
	char *file[V4_NFILES];
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char body_hash[SIGV4_HEX_LEN + 1];
};

static int v4_header, v4_query, v4_s3, v4_s3_changed;

/* "2015-08-30T12:36:00Z" as an amz date, through sigv4_format_amz_date. */
static int
iso_to_amz(const char *iso, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm = { 0 };

	if (iso == NULL || sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return sigv4_format_amz_date(timegm(&tm), out);
}

static int
v4_load(struct v4_vec *v)
{
	char *text = slurp(v->dir, "context.json");
	int rc = text != NULL ? json_parse(text, &v->ctx) : -1;

	free(text);
	if (rc == -1 || (text = slurp(v->dir, "request.txt")) == NULL)
		return -1;
	if (parse_http(text, &v->req) == -1)
		return -1;
	for (int i = 0; i < V4_NFILES; i++) {
		if ((v->file[i] = slurp(v->dir, v4_files[i])) == NULL)
			return -1;
	}
	v->creds = jget(&v->ctx, "credentials");
	v->token = jstr(v->creds, "token");
	sha256_of(v->req.body, v->req.bodylen, v->body_hash);
	return iso_to_amz(jstr(&v->ctx, "timestamp"), v->amz_date);
}

static void
v4_free(struct v4_vec *v)
{
	json_free(&v->ctx);
	free(v->req.buf);
	for (int i = 0; i < V4_NFILES; i++)
		free(v->file[i]);
}

/* The request of V under the generic rules its context.json asks for. */
static void
v4_request(const struct v4_vec *v, int s3, struct sigv4_request *r)
{
	memset(r, 0, sizeof(*r));
	r->method = v->req.method;
	r->path = v->req.path;
	r->query = v->req.query;
	r->headers = v->req.hdr;
	r->nheaders = v->req.nhdr;
	r->payload_hash = v->body_hash;
	r->amz_date = v->amz_date;
	r->region = jstr(&v->ctx, "region");
	r->service = jstr(&v->ctx, "service");
	r->access_key_id = jstr(v->creds, "access_key_id");
	r->secret_key = jstr(v->creds, "secret_access_key");
	r->session_token = jbool(&v->ctx, "omit_session_token") ? NULL :
	    v->token;
	if (!s3) {
		r->flags = SIGV4_DOUBLE_ENCODE;
		if (jbool(&v->ctx, "normalize"))
			r->flags |= SIGV4_NORMALIZE_PATH;
	}
	if (jbool(&v->ctx, "sign_body"))
		r->flags |= SIGV4_CONTENT_SHA256;
}

/* The token a caller adds after signing when omit_session_token is set. */
static const char *
v4_late_token(const struct v4_vec *v)
{
	return jbool(&v->ctx, "omit_session_token") ? v->token : NULL;
}

static void
v4_compare_request_line(const struct http_req *want,
    const struct http_req *got)
{
	ASSERT_STR_EQ(got->method, want->method);
	ASSERT_STR_EQ(got->path, want->path);
	ASSERT_INT_EQ(got->bodylen, want->bodylen);
	ASSERT_MEM_EQ(got->body, want->body, want->bodylen);
}

/*
 * header-signed-request.txt: the request's headers, the ones the signer
 * added, Authorization (and a token added after signing), same line and
 * body.
 */
static void
v4_check_header_sreq(const struct v4_vec *v, const struct sigv4_result *res)
{
	struct http_req sreq;
	struct bag want = { 0 }, got = { 0 };
	char *text = strdup(v->file[HDR_SREQ]);
	int same;

	ASSERT(text != NULL && parse_http(text, &sreq) == 0);
	for (size_t i = 0; i < sreq.nhdr; i++)
		bag_add_header(&want, sreq.hdr[i].name, sreq.hdr[i].value);
	for (size_t i = 0; i < v->req.nhdr; i++)
		bag_add_header(&got, v->req.hdr[i].name, v->req.hdr[i].value);
	for (size_t i = 0; i < res->nadded; i++)
		bag_add_header(&got, res->added[i].name, res->added[i].value);
	bag_add_header(&got, "authorization", res->authorization);
	if (v4_late_token(v) != NULL)
		bag_add_header(&got, "x-amz-security-token", v4_late_token(v));
	same = bag_equal(&want, &got);
	bag_free(&want);
	bag_free(&got);
	v4_compare_request_line(&v->req, &sreq);
	ASSERT((sreq.query == NULL) == (v->req.query == NULL));
	ASSERT(sreq.query == NULL || strcmp(sreq.query, v->req.query) == 0);
	free(sreq.buf);
	ASSERT(same);
}

static void
v4_check_header(const struct v4_vec *v)
{
	struct sigv4_request r;
	struct sigv4_result res;

	v4_request(v, 0, &r);
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	ASSERT_STR_EQ(res.canonical_request, v->file[HDR_CREQ]);
	ASSERT_STR_EQ(res.string_to_sign, v->file[HDR_STS]);
	ASSERT_STR_EQ(res.signature, v->file[HDR_SIG]);
	v4_check_header_sreq(v, &res);
	sigv4_result_free(&res);
}

/*
 * query-signed-request.txt: the same parameters as the request's plus
 * the presigned ones (in any order, compared in canonical encoding).
 */
static void
v4_check_query_sreq(const struct v4_vec *v, const struct sigv4_result *res)
{
	struct http_req sreq;
	struct bag want = { 0 }, got = { 0 };
	char *text = strdup(v->file[QRY_SREQ]), *tok = NULL;
	int same;

	ASSERT(text != NULL && parse_http(text, &sreq) == 0);
	bag_add_query(&want, sreq.query);
	bag_add_query(&got, res->query);
	if (v4_late_token(v) != NULL && asprintf(&tok,
	    "X-Amz-Security-Token=%s", v4_late_token(v)) != -1)
		bag_add_query(&got, tok);
	for (size_t i = 0; i < sreq.nhdr; i++)
		bag_add_header(&want, sreq.hdr[i].name, sreq.hdr[i].value);
	for (size_t i = 0; i < v->req.nhdr; i++)
		bag_add_header(&got, v->req.hdr[i].name, v->req.hdr[i].value);
	same = bag_equal(&want, &got);
	bag_free(&want);
	bag_free(&got);
	free(tok);
	v4_compare_request_line(&v->req, &sreq);
	free(sreq.buf);
	ASSERT(same);
}

static void
v4_check_query(const struct v4_vec *v)
{
	struct sigv4_request r;
	struct sigv4_result res;

	v4_request(v, 0, &r);
	ASSERT_INT_EQ(sigv4_presign(&r, jnum(&v->ctx, "expiration_in_seconds"),
	    NULL, &res), 0);
	ASSERT(res.authorization == NULL && res.nadded == 0);
	ASSERT_STR_EQ(res.canonical_request, v->file[QRY_CREQ]);
	ASSERT_STR_EQ(res.string_to_sign, v->file[QRY_STS]);
	ASSERT_STR_EQ(res.signature, v->file[QRY_SIG]);
	v4_check_query_sreq(v, &res);
	sigv4_result_free(&res);
}

/* A v4 case whose expected values assume path normalization. */
static int
v4_normalizes(const struct v4_vec *v)
{
	size_t n = strlen(v->name);

	return jbool(&v->ctx, "normalize") && n > 11 &&
	    strcmp(v->name + n - 11, "-normalized") == 0 &&
	    strcmp(v->name, "get-space-normalized") != 0;
}

/*
 * S3 rules. A normalization case must sign like its *-unnormalized twin
 * (and so differ from its own expected values); any other case must
 * reproduce its header and query values unchanged.
 */
static void
v4_check_s3(const struct v4_vec *v)
{
	struct sigv4_request r;
	struct sigv4_result hres, qres;
	char *twin_dir, *twin = NULL;

	v4_request(v, 1, &r);
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &hres), 0);
	ASSERT_INT_EQ(sigv4_presign(&r, jnum(&v->ctx, "expiration_in_seconds"),
	    NULL, &qres), 0);
	if (v4_normalizes(v)) {
		int keep = (int)(strlen(v->dir) - strlen("normalized"));

		if (asprintf(&twin_dir, "%.*sunnormalized", keep,
		    v->dir) != -1) {
			twin = slurp(twin_dir, v4_files[HDR_CREQ]);
			free(twin_dir);
		}
		ASSERT(twin != NULL);
		ASSERT(strcmp(hres.canonical_request, v->file[HDR_CREQ]) != 0);
		ASSERT_STR_EQ(hres.canonical_request, twin);
		free(twin);
	} else {
		ASSERT_STR_EQ(hres.canonical_request, v->file[HDR_CREQ]);
		ASSERT_STR_EQ(hres.string_to_sign, v->file[HDR_STS]);
		ASSERT_STR_EQ(hres.signature, v->file[HDR_SIG]);
		ASSERT_STR_EQ(qres.canonical_request, v->file[QRY_CREQ]);
		ASSERT_STR_EQ(qres.string_to_sign, v->file[QRY_STS]);
		ASSERT_STR_EQ(qres.signature, v->file[QRY_SIG]);
	}
	sigv4_result_free(&hres);
	sigv4_result_free(&qres);
}

static void
v4_case(const char *dir, const char *name)
{
	struct v4_vec v = { .dir = dir, .name = name };

	if (v4_load(&v) == -1) {
		printf("  %s: unreadable vector files\n", dir);
		test_cur_failed_ = 1;
		v4_free(&v);
		return;
	}
	case_begin();
	v4_check_header(&v);
	v4_header += case_end("v4 header", name);
	case_begin();
	v4_check_query(&v);
	v4_query += case_end("v4 query", name);
	case_begin();
	v4_check_s3(&v);
	if (case_end("v4 s3", name)) {
		if (v4_normalizes(&v))
			v4_s3_changed++;
		else
			v4_s3++;
	}
	v4_free(&v);
}

TEST(v4_suite)
{
	char *root = join_path(vectors_dir(), "aws-signing-test-suite/v4");
	char **subs;
	size_t n;

	ASSERT(root != NULL);
	subs = subdirs(root, &n);
	for (size_t i = 0; i < n; i++) {
		char *dir = join_path(root, subs[i]);

		if (dir != NULL)
			v4_case(dir, subs[i]);
		free(dir);
	}
	free_names(subs, n);
	free(root);
	printf("  v4 suite: %d/%d header, %d/%d query, %d/%d s3 (+%d "
	    "normalization cases differ under s3 rules)\n", v4_header,
	    V4_CASES, v4_query, V4_CASES, v4_s3, V4_S3_CASES, v4_s3_changed);
	ASSERT(v4_header >= V4_CASES);
	ASSERT(v4_query >= V4_CASES);
	ASSERT(v4_s3 >= V4_S3_CASES);
	ASSERT_INT_EQ(v4_s3_changed, V4_CASES - V4_S3_CASES);
}

/* ---- s3-examples.json ------------------------------------------------ */

static int s3_header, s3_query;

struct s3_example {
	const struct jval *top, *ex, *req, *want;
	struct sigv4_header hdr[MAX_HEADERS];
	size_t nhdr;
	char body_hash[SIGV4_HEX_LEN + 1];
};

static int
s3_load(struct s3_example *e)
{
	const struct jval *h = jget(e->req, "headers");
	const char *body = jstr(e->req, "body");

	if (h == NULL || h->type != J_ARR || h->n > MAX_HEADERS || body == NULL)
		return -1;
	for (size_t i = 0; i < h->n; i++) {
		const struct jval *pair = &h->items[i];

		if (pair->type != J_ARR || pair->n != 2 ||
		    pair->items[0].type != J_STR ||
		    pair->items[1].type != J_STR)
			return -1;
		e->hdr[i].name = pair->items[0].str;
		e->hdr[i].value = pair->items[1].str;
	}
	e->nhdr = h->n;
	sha256_of(body, strlen(body), e->body_hash);
	return 0;
}

static void
s3_request(const struct s3_example *e, struct sigv4_request *r)
{
	const struct jval *creds = jget(e->top, "credentials");

	memset(r, 0, sizeof(*r));
	r->method = jstr(e->req, "method");
	r->path = jstr(e->req, "path");
	r->query = jstr(e->req, "query");
	r->headers = e->hdr;
	r->nheaders = e->nhdr;
	r->payload_hash = e->body_hash;
	r->amz_date = jstr(e->top, "amz_date");
	r->region = jstr(e->top, "region");
	r->service = jstr(e->top, "service");
	r->access_key_id = jstr(creds, "access_key_id");
	r->secret_key = jstr(creds, "secret_access_key");
	r->flags = SIGV4_RULES_S3;
}

/* The canonical request, its hash, the string to sign and the signature. */
static void
s3_compare(const struct s3_example *e, const struct sigv4_result *res)
{
	char hex[SIGV4_HEX_LEN + 1];

	ASSERT_STR_EQ(res->canonical_request,
	    jstr(e->want, "canonical_request"));
	sha256_of(res->canonical_request, strlen(res->canonical_request), hex);
	ASSERT_STR_EQ(hex, jstr(e->want, "canonical_request_sha256"));
	ASSERT_STR_EQ(res->string_to_sign, jstr(e->want, "string_to_sign"));
	ASSERT_STR_EQ(res->signature, jstr(e->want, "signature"));
}

/*
 * Header signing, three ways: as published; with the key encoded the way
 * the client sends it; and with x-amz-date and x-amz-content-sha256 left
 * for the signer to add.
 */
static void
s3_check_header(struct s3_example *e)
{
	struct sigv4_request r;
	struct sigv4_result res;
	char path[256];
	size_t kept = 0;

	s3_request(e, &r);
	ASSERT_STR_EQ(e->body_hash, jstr(e->want, "payload_hash"));
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	s3_compare(e, &res);
	ASSERT_STR_EQ(res.authorization, jstr(e->want, "authorization"));
	ASSERT_INT_EQ(res.nadded, 0);
	sigv4_result_free(&res);

	ASSERT(sigv4_uri_encode(path, sizeof(path), r.path, strlen(r.path),
	    SIGV4_ENC_KEEP_SLASH) < sizeof(path));
	r.path = path;
	for (size_t i = 0; i < e->nhdr; i++) {
		if (strcasecmp(e->hdr[i].name, "x-amz-date") != 0 &&
		    strcasecmp(e->hdr[i].name, "x-amz-content-sha256") != 0)
			e->hdr[kept++] = e->hdr[i];
	}
	r.nheaders = kept;
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	s3_compare(e, &res);
	ASSERT_STR_EQ(res.authorization, jstr(e->want, "authorization"));
	ASSERT_INT_EQ(res.nadded, 2);
	ASSERT_STR_EQ(res.added[0].name, "x-amz-date");
	ASSERT_STR_EQ(res.added[0].value, "20130524T000000Z");
	ASSERT_STR_EQ(res.added[1].name, "x-amz-content-sha256");
	ASSERT_STR_EQ(res.added[1].value, jstr(e->want, "payload_hash"));
	sigv4_result_free(&res);
}

static const char *
s3_host(const struct s3_example *e)
{
	for (size_t i = 0; i < e->nhdr; i++) {
		if (strcasecmp(e->hdr[i].name, "host") == 0)
			return e->hdr[i].value;
	}
	return "";
}

static void
s3_check_query(const struct s3_example *e)
{
	const struct jval *how = jget(e->ex, "signing");
	struct sigv4_request r;
	struct sigv4_result res;
	char *url = NULL;

	s3_request(e, &r);
	r.payload_hash = jstr(how, "payload_hash");
	ASSERT_STR_EQ(r.payload_hash, jstr(e->want, "payload_hash"));
	ASSERT_INT_EQ(sigv4_presign(&r, jnum(how, "expires"), NULL, &res), 0);
	s3_compare(e, &res);
	ASSERT(res.authorization == NULL && res.nadded == 0);
	ASSERT(asprintf(&url, "https://%s%s?%s", s3_host(e), r.path,
	    res.query) != -1);
	ASSERT_STR_EQ(url, jstr(e->want, "url"));
	free(url);
	sigv4_result_free(&res);
}

TEST(s3_examples)
{
	char *text = slurp(vectors_dir(), "s3-examples.json");
	struct jval top;
	const struct jval *exs;

	ASSERT(text != NULL);
	ASSERT_INT_EQ(json_parse(text, &top), 0);
	free(text);
	exs = jget(&top, "examples");
	for (size_t i = 0; exs != NULL && i < exs->n; i++) {
		struct s3_example e = { .top = &top, .ex = &exs->items[i] };
		const char *type = jstr(jget(e.ex, "signing"), "type");
		const char *name = jstr(e.ex, "name");

		e.req = jget(e.ex, "request");
		e.want = jget(e.ex, "expected");
		if (name == NULL || e.want == NULL || s3_load(&e) == -1) {
			printf("  example %zu: malformed\n", i);
			test_cur_failed_ = 1;
			continue;
		}
		case_begin();
		if (type != NULL && strcmp(type, "query") == 0) {
			s3_check_query(&e);
			s3_query += case_end("s3 query", name);
		} else {
			s3_check_header(&e);
			s3_header += case_end("s3 header", name);
		}
	}
	json_free(&top);
	printf("  s3 examples: %d/%d header, %d/%d presigned\n", s3_header,
	    S3_HEADER_EXAMPLES, s3_query, S3_QUERY_EXAMPLES);
	ASSERT(s3_header >= S3_HEADER_EXAMPLES);
	ASSERT(s3_query >= S3_QUERY_EXAMPLES);
}

/* ---- helpers and edge cases ------------------------------------------ */

TEST(uri_encode)
{
	char buf[64];
	const char *s = "a b/c~-._$";

	ASSERT_INT_EQ(sigv4_uri_encode(buf, sizeof(buf), s, strlen(s),
	    SIGV4_ENC_KEEP_SLASH), 14);
	ASSERT_STR_EQ(buf, "a%20b/c~-._%24");
	ASSERT_INT_EQ(sigv4_uri_encode(buf, sizeof(buf), s, strlen(s), 0), 16);
	ASSERT_STR_EQ(buf, "a%20b%2Fc~-._%24");
	sigv4_uri_encode(buf, sizeof(buf), "\xe1\x88\xb4+%", 5, 0);
	ASSERT_STR_EQ(buf, "%E1%88%B4%2B%25");
	/* Truncates like snprintf and returns the length it needed. */
	ASSERT_INT_EQ(sigv4_uri_encode(buf, 4, "a b", 3, 0), 5);
	ASSERT_STR_EQ(buf, "a%2");
	ASSERT_INT_EQ(sigv4_uri_encode(NULL, 0, "a b", 3, 0), 5);
	ASSERT_INT_EQ(sigv4_uri_encode(buf, sizeof(buf), "", 0, 0), 0);
	ASSERT_STR_EQ(buf, "");
}

TEST(amz_date)
{
	char d[SIGV4_AMZ_DATE_LEN + 1];

	ASSERT_INT_EQ(sigv4_format_amz_date(1440938160, d), 0);
	ASSERT_STR_EQ(d, "20150830T123600Z");
	ASSERT_INT_EQ(sigv4_format_amz_date(1369353600, d), 0);
	ASSERT_STR_EQ(d, "20130524T000000Z");
	ASSERT_INT_EQ(sigv4_format_amz_date(0, d), 0);
	ASSERT_STR_EQ(d, "19700101T000000Z");
	errno = 0;
	ASSERT_INT_EQ(sigv4_format_amz_date((time_t)253402300800LL, d), -1);
	ASSERT_INT_EQ(errno, EOVERFLOW);
}

TEST(payload_hash)
{
	char hex[SIGV4_HEX_LEN + 1];

	ASSERT_INT_EQ(sigv4_sha256_hex("", 0, hex), 0);
	ASSERT_STR_EQ(hex, SIGV4_EMPTY_SHA256);
	ASSERT_INT_EQ(sigv4_sha256_hex(NULL, 0, hex), 0);
	ASSERT_STR_EQ(hex, SIGV4_EMPTY_SHA256);
	ASSERT_INT_EQ(sigv4_sha256_hex("Welcome to Amazon S3.", 21, hex), 0);
	ASSERT_STR_EQ(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e4"
	    "2034a8b803f8b072");
}

static void
key_hex(const unsigned char key[SIGV4_KEY_LEN], char hex[65])
{
	for (int i = 0; i < SIGV4_KEY_LEN; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", key[i]);
}

/* The AWS General Reference's signing-key example ("iam", 20120215). */
TEST(derive_key)
{
	unsigned char key[SIGV4_KEY_LEN];
	char hex[65];

	ASSERT_INT_EQ(sigv4_derive_key(SUITE_SECRET, "20120215", "us-east-1",
	    "iam", key), 0);
	key_hex(key, hex);
	ASSERT_STR_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a"
	    "9e090d414db404d");
	errno = 0;
	ASSERT_INT_EQ(sigv4_derive_key(SUITE_SECRET, "2012021", "us-east-1",
	    "iam", key), -1);
	ASSERT_INT_EQ(errno, EINVAL);
	ASSERT_INT_EQ(sigv4_derive_key(SUITE_SECRET, "20120215", "us/east",
	    "iam", key), -1);
	ASSERT_INT_EQ(sigv4_derive_key(NULL, "20120215", "us-east-1", "iam",
	    key), -1);
}

TEST(key_cache)
{
	struct sigv4_key_cache c;
	unsigned char k1[SIGV4_KEY_LEN], k2[SIGV4_KEY_LEN];
	static const unsigned char zero[sizeof(c)];

	sigv4_key_cache_init(&c);
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, SUITE_SECRET, "20120215",
	    "us-east-1", "iam", k1), 0);
	ASSERT_INT_EQ(sigv4_derive_key(SUITE_SECRET, "20120215", "us-east-1",
	    "iam", k2), 0);
	ASSERT_MEM_EQ(k1, k2, SIGV4_KEY_LEN);
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, SUITE_SECRET, "20120215",
	    "us-east-1", "iam", k1), 0);
	ASSERT_MEM_EQ(k1, k2, SIGV4_KEY_LEN);
	ASSERT_INT_EQ(c.misses, 1);
	ASSERT_INT_EQ(c.hits, 1);
	/* A new day, region, service or secret derives again. */
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, SUITE_SECRET, "20120216",
	    "us-east-1", "iam", k1), 0);
	ASSERT(memcmp(k1, k2, SIGV4_KEY_LEN) != 0);
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, SUITE_SECRET, "20120216",
	    "eu-west-1", "iam", k1), 0);
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, SUITE_SECRET, "20120216",
	    "eu-west-1", "s3", k1), 0);
	ASSERT_INT_EQ(sigv4_key_cache_get(&c, "other", "20120216",
	    "eu-west-1", "s3", k2), 0);
	ASSERT(memcmp(k1, k2, SIGV4_KEY_LEN) != 0);
	ASSERT_INT_EQ(c.misses, 5);
	ASSERT_INT_EQ(c.hits, 1);
	ASSERT(memmem(&c, sizeof(c), "other", 5) == NULL);
	sigv4_key_cache_clear(&c);
	ASSERT_MEM_EQ(&c, zero, sizeof(c));
}

static const struct sigv4_header edge_hdr[] = {
	{ "Host", "example.amazonaws.com" },
};

static void
edge_request(struct sigv4_request *r, const char *path, unsigned flags)
{
	memset(r, 0, sizeof(*r));
	r->method = "GET";
	r->path = path;
	r->headers = edge_hdr;
	r->nheaders = 1;
	r->payload_hash = SIGV4_EMPTY_SHA256;
	r->amz_date = "20150830T123600Z";
	r->region = SUITE_REGION;
	r->service = SUITE_SERVICE;
	r->access_key_id = SUITE_AKID;
	r->secret_key = SUITE_SECRET;
	r->flags = flags;
}

/* The canonical URI that PATH signs with under FLAGS ("" on error). */
static char *
uri_of(const char *path, unsigned flags)
{
	struct sigv4_request r;
	struct sigv4_result res;
	char *uri;

	edge_request(&r, path, flags);
	if (sigv4_sign(&r, NULL, &res) == -1)
		return strdup("");
	uri = creq_uri(res.canonical_request);
	sigv4_result_free(&res);
	return uri;
}

#define ASSERT_URI(path, flags, want) do { \
	char *u_ = uri_of(path, flags); \
	int eq_ = strcmp(u_, want) == 0; \
	if (!eq_) \
		printf("  uri of \"%s\": \"%s\", want \"%s\"\n", path, u_, \
		    want); \
	free(u_); \
	ASSERT(eq_); \
} while (0)

TEST(canonical_uri)
{
	/* S3: encoded once, whatever escapes the path already has. */
	ASSERT_URI("/a%20b/c d", SIGV4_RULES_S3, "/a%20b/c%20d");
	ASSERT_URI("/a%2fb%7E", SIGV4_RULES_S3, "/a%2Fb~");
	ASSERT_URI("/100%/%zz", SIGV4_RULES_S3, "/100%25/%25zz");
	ASSERT_URI("/a+b//./../c/", SIGV4_RULES_S3, "/a%2Bb//./../c/");
	ASSERT_URI("", SIGV4_RULES_S3, "/");
	/* Generic: the request-line path is encoded again. */
	ASSERT_URI("/a%20b", SIGV4_RULES_GENERIC, "/a%2520b");
	ASSERT_URI("/a/./b/../c/", SIGV4_RULES_GENERIC, "/a/c/");
	ASSERT_URI("/a/.", SIGV4_RULES_GENERIC, "/a/");
	ASSERT_URI("/a/b/..", SIGV4_RULES_GENERIC, "/a/");
	ASSERT_URI("/../..", SIGV4_RULES_GENERIC, "/");
	ASSERT_URI("//a//b", SIGV4_RULES_GENERIC, "/a/b");
	ASSERT_URI("relative", SIGV4_RULES_S3, "");
}

/* The canonical query line of a signing of QUERY ("" on error). */
static char *
query_of(const char *query)
{
	struct sigv4_request r;
	struct sigv4_result res;
	const char *p;
	char *q;

	edge_request(&r, "/", SIGV4_RULES_S3);
	r.query = query;
	if (sigv4_sign(&r, NULL, &res) == -1)
		return strdup("");
	p = strchr(strchr(res.canonical_request, '\n') + 1, '\n') + 1;
	q = strndup(p, strcspn(p, "\n"));
	sigv4_result_free(&res);
	return q;
}

TEST(canonical_query)
{
	char *q;

	q = query_of("b=2&a=%2f&&a=1&c+d=%zz&lifecycle&x=a=b");
	ASSERT_STR_EQ(q, "a=%2F&a=1&b=2&c%2Bd=%25zz&lifecycle=&x=a%3Db");
	free(q);
	q = query_of("prefix=db/generations/&list-type=2&delimiter=%2F");
	ASSERT_STR_EQ(q, "delimiter=%2F&list-type=2&"
	    "prefix=db%2Fgenerations%2F");
	free(q);
	q = query_of("");
	ASSERT_STR_EQ(q, "");
	free(q);
}

TEST(canonical_headers)
{
	static const struct sigv4_header h[] = {
		{ "Host", " example.amazonaws.com " },
		{ "X-Multi", "\t a \t b  c\t" },
		{ "x-dup", "2" },
		{ "X-Dup", " 1" },
		{ "x-empty", "   " },
	};
	struct sigv4_request r;
	struct sigv4_result res;

	edge_request(&r, "/", 0);
	r.headers = h;
	r.nheaders = 5;
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	ASSERT_STR_EQ(res.canonical_request, "GET\n/\n\n"
	    "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
	    "x-dup:2,1\nx-empty:\nx-multi:a b c\n\n"
	    "host;x-amz-date;x-dup;x-empty;x-multi\n" SIGV4_EMPTY_SHA256);
	ASSERT_STR_EQ(res.signed_headers, "host;x-amz-date;x-dup;x-empty;"
	    "x-multi");
	ASSERT_INT_EQ(res.nadded, 1);
	ASSERT_STR_EQ(res.added[0].name, "x-amz-date");
	sigv4_result_free(&res);
}

/* The signer adds and signs x-amz-security-token and the payload hash. */
TEST(s3_layer_headers)
{
	static const char authz[] = "AWS4-HMAC-SHA256 Credential="
	    "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request,SignedHeaders="
	    "host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
	    "Signature=";
	struct sigv4_request r;
	struct sigv4_result res;

	edge_request(&r, "/bucket/key", SIGV4_RULES_S3);
	r.method = "PUT";
	r.service = "s3";
	r.session_token = "tok/en+=";
	r.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &res), 0);
	ASSERT_INT_EQ(res.nadded, 3);
	ASSERT_STR_EQ(res.added[1].name, "x-amz-security-token");
	ASSERT_STR_EQ(res.added[1].value, "tok/en+=");
	ASSERT_STR_EQ(res.added[2].name, "x-amz-content-sha256");
	ASSERT_STR_EQ(res.added[2].value, "UNSIGNED-PAYLOAD");
	ASSERT_STR_EQ(res.signed_headers, "host;x-amz-content-sha256;"
	    "x-amz-date;x-amz-security-token");
	ASSERT(strstr(res.canonical_request, "\nx-amz-security-token:"
	    "tok/en+=\n") != NULL);
	ASSERT(strncmp(res.authorization, authz, sizeof(authz) - 1) == 0);
	ASSERT_STR_EQ(res.authorization + sizeof(authz) - 1, res.signature);
	ASSERT(strstr(res.canonical_request, SUITE_SECRET) == NULL);
	ASSERT(strstr(res.string_to_sign, SUITE_SECRET) == NULL);
	sigv4_result_free(&res);
	ASSERT(res.canonical_request == NULL && res.authorization == NULL);
	sigv4_result_free(NULL);
}

TEST(presign_token)
{
	static const char want[] = "X-Amz-Algorithm=AWS4-HMAC-SHA256&"
	    "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2F"
	    "aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&"
	    "X-Amz-Security-Token=a%2Fb%2Bc%3D&X-Amz-SignedHeaders=host&"
	    "versionId=3&X-Amz-Signature=";
	struct sigv4_request r;
	struct sigv4_result res;

	edge_request(&r, "/k", SIGV4_RULES_S3);
	r.service = "s3";
	r.query = "versionId=3";
	r.session_token = "a/b+c=";
	r.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	ASSERT_INT_EQ(sigv4_presign(&r, 60, NULL, &res), 0);
	ASSERT(strncmp(res.query, want, sizeof(want) - 1) == 0);
	ASSERT_STR_EQ(res.query + sizeof(want) - 1, res.signature);
	ASSERT(strstr(res.canonical_request, "\nUNSIGNED-PAYLOAD") != NULL);
	ASSERT(res.authorization == NULL && res.nadded == 0);
	sigv4_result_free(&res);
	ASSERT_INT_EQ(sigv4_presign(&r, 0, NULL, &res), -1);
	ASSERT_INT_EQ(sigv4_presign(&r, SIGV4_MAX_EXPIRES + 1, NULL, &res),
	    -1);
	ASSERT_INT_EQ(errno, EINVAL);
}

/* A cached key signs exactly like a fresh one, and is reused. */
TEST(sign_with_cache)
{
	struct sigv4_key_cache c;
	struct sigv4_request r;
	struct sigv4_result a, b;

	sigv4_key_cache_init(&c);
	edge_request(&r, "/x", SIGV4_RULES_S3);
	ASSERT_INT_EQ(sigv4_sign(&r, NULL, &a), 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_INT_EQ(sigv4_sign(&r, &c, &b), 0);
		ASSERT_STR_EQ(b.authorization, a.authorization);
		sigv4_result_free(&b);
	}
	ASSERT_INT_EQ(c.misses, 1);
	ASSERT_INT_EQ(c.hits, 2);
	sigv4_result_free(&a);
	sigv4_key_cache_clear(&c);
}

#define ASSERT_EINVAL(r) do { \
	struct sigv4_result res_; \
	errno = 0; \
	ASSERT_INT_EQ(sigv4_sign(&(r), NULL, &res_), -1); \
	ASSERT_INT_EQ(errno, EINVAL); \
	ASSERT(res_.canonical_request == NULL && res_.authorization == NULL); \
} while (0)

TEST(refused)
{
	struct sigv4_header h[2] = { { "Host", "h" }, { "x", "y" } };
	struct sigv4_request r;

	edge_request(&r, "/", SIGV4_RULES_S3);
	r.headers = h;
	r.nheaders = 2;
	h[1] = (struct sigv4_header){ "X-Amz-Date", "20150830T123601Z" };
	ASSERT_EINVAL(r);
	h[1] = (struct sigv4_header){ "x-amz-content-sha256",
	    SIGV4_UNSIGNED_PAYLOAD };
	ASSERT_EINVAL(r);
	h[1] = (struct sigv4_header){ "X-Amz-Security-Token", "t" };
	r.session_token = "u";
	ASSERT_EINVAL(r);
	r.session_token = NULL;
	h[1] = (struct sigv4_header){ "x-injected", "a\r\nb: c" };
	ASSERT_EINVAL(r);
	h[1] = (struct sigv4_header){ "bad name", "v" };
	ASSERT_EINVAL(r);
	h[1] = (struct sigv4_header){ "", "v" };
	ASSERT_EINVAL(r);
	h[0] = (struct sigv4_header){ "Hostx", "h" };
	h[1] = (struct sigv4_header){ "x", "y" };
	ASSERT_EINVAL(r);	/* no Host */
	h[0] = (struct sigv4_header){ "Host", "h" };
	r.amz_date = "20150830 123600Z";
	ASSERT_EINVAL(r);
	r.amz_date = "20150830T123600Z";
	r.region = "us east";
	ASSERT_EINVAL(r);
	r.region = SUITE_REGION;
	r.payload_hash = "";
	ASSERT_EINVAL(r);
	r.payload_hash = SIGV4_EMPTY_SHA256;
	r.path = "/a\nb";
	ASSERT_EINVAL(r);
	r.path = "/";
	r.secret_key = NULL;
	ASSERT_EINVAL(r);
}

int
main(void)
{
	RUN(uri_encode);
	RUN(amz_date);
	RUN(payload_hash);
	RUN(derive_key);
	RUN(key_cache);
	RUN(canonical_uri);
	RUN(canonical_query);
	RUN(canonical_headers);
	RUN(s3_layer_headers);
	RUN(presign_token);
	RUN(sign_with_cache);
	RUN(refused);
	RUN(classic_suite);
	RUN(v4_suite);
	RUN(s3_examples);
	return TEST_DONE();
}
