/*
 * s3xml: S3's XML both ways, with libexpat: the response documents the
 * client reads (listings, error bodies, DeleteObjects and multipart
 * results) and the two request bodies it writes (Delete,
 * CompleteMultipartUpload).
 *
 * Responses come from the network, so they are parsed as hostile input:
 *   - a document over S3XML_MAX_DOC bytes, more than S3XML_MAX_ELEMENTS
 *     elements, nesting deeper than S3XML_MAX_DEPTH or one element's text
 *     over S3XML_MAX_TEXT bytes is refused before it costs more memory;
 *   - a DOCTYPE, and so any entity declaration, is refused: S3 never sends
 *     one (no billion laughs, no external entities);
 *   - a truncated or malformed document, or one whose root is not the
 *     expected element, is an error with a message naming the line;
 *   - numbers and dates that do not parse are errors, not zeros.
 * Parsers never crash on any input and free what they built on failure.
 *
 * Element names are matched on their local part (any "ns:" prefix and the
 * xmlns attribute are ignored), so AWS's and other stores' shapes parse
 * alike. Unknown elements are skipped.
 *
 * Errors: parsers return 0, or -1 with a message in ERR (ERRLEN bytes).
 */
#ifndef WALSHIP_S3XML_H
#define WALSHIP_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3XML_MAX_DOC (8u << 20)	/* a 1000-key page is ~400 KiB */
#define S3XML_MAX_ELEMENTS 200000
#define S3XML_MAX_DEPTH 16
#define S3XML_MAX_TEXT 8192
#define S3XML_MAX_KEY 1024		/* S3's limit on a key, in bytes */

/* One <Contents> entry of a listing. */
struct s3xml_object {
	char *key;
	int64_t size;
	int64_t last_modified;		/* ns since the epoch (UTC) */
};

/* A ListObjects (v1) or ListObjectsV2 page: both have ListBucketResult. */
struct s3xml_list {
	struct s3xml_object *objects;
	size_t nobjects;
	char **prefixes;		/* CommonPrefixes/Prefix */
	size_t nprefixes;
	bool is_truncated;
	char *next_marker;		/* v1 NextMarker, NULL when absent */
	char *next_token;		/* v2 NextContinuationToken, or NULL */
};

/* An <Error> document (any field may be empty). */
struct s3xml_error {
	char code[64];
	char message[512];
	char resource[512];
	char request_id[128];
};

/* A per-key failure in a DeleteObjects result. */
struct s3xml_delete_error {
	char *key;
	char code[64];
	char message[256];
};

struct s3xml_delete {
	size_t ndeleted;		/* <Deleted> entries (0 with Quiet) */
	struct s3xml_delete_error *errors;
	size_t nerrors;
};

int s3xml_parse_list(const char *doc, size_t len, struct s3xml_list *out,
    char *err, size_t errlen);
void s3xml_list_free(struct s3xml_list *list);

/* An <Error> body. */
int s3xml_parse_error(const char *doc, size_t len, struct s3xml_error *out,
    char *err, size_t errlen);

int s3xml_parse_delete(const char *doc, size_t len, struct s3xml_delete *out,
    char *err, size_t errlen);
void s3xml_delete_free(struct s3xml_delete *del);

/* InitiateMultipartUploadResult: *UPLOAD_ID is malloc'ed (caller frees). */
int s3xml_parse_initiate(const char *doc, size_t len, char **upload_id,
    char *err, size_t errlen);

/*
 * A CompleteMultipartUpload answer, which S3 may send as 200 OK with an
 * <Error> body. Returns 0 for CompleteMultipartUploadResult, 1 for an
 * <Error> (S3ERR filled in), -1 for anything else.
 */
int s3xml_parse_complete(const char *doc, size_t len,
    struct s3xml_error *s3err, char *err, size_t errlen);

/*
 * "2009-10-12T17:50:30.000Z" (fraction and a +hh:mm offset optional) to
 * ns since the epoch. Returns 0, or -1 if it does not parse.
 */
int s3xml_parse_time(const char *s, int64_t *ns);

/*
 * Request bodies, malloc'ed and NUL-terminated (*LEN gets the length);
 * NULL with errno on failure. Text is escaped (&, <, >, ", ').
 *   <Delete xmlns=...><Object><Key>k</Key></Object>...<Quiet>true</Quiet>
 *   <CompleteMultipartUpload xmlns=...><Part><PartNumber>n</PartNumber>
 *     <ETag>e</ETag></Part>...
 */
char *s3xml_build_delete(const char *const *keys, size_t nkeys, bool quiet,
    size_t *len);
char *s3xml_build_complete(const char *const *etags, size_t nparts,
    size_t *len);

#endif
