/*
 * s3err: turning what went wrong in an S3 request (an HTTP status with
 * its <Error> body, or a curl failure) into struct s3_error, with an
 * errno and a hint a user can act on, and formatting it as one line.
 * Nothing here ever sees a credential.
 */
#include "s3int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "s3xml.h"

void
s3err_from_http(struct s3_error *err, long status, const char *body,
    size_t len)
{
	struct s3xml_error x;
	char perr[160];

	err->http_status = (int)status;
	err->code[0] = err->message[0] = err->request_id[0] = '\0';
	if (body != NULL && len > 0 &&
	    s3xml_parse_error(body, len, &x, perr, sizeof(perr)) == 0) {
		snprintf(err->code, sizeof(err->code), "%s", x.code);
		snprintf(err->message, sizeof(err->message), "%s", x.message);
		snprintf(err->request_id, sizeof(err->request_id), "%s",
		    x.request_id);
		return;
	}
	/* No usable body (HEAD, a proxy's HTML page): name the status. */
	switch (status) {
	case 301: case 307:
		snprintf(err->code, sizeof(err->code), "PermanentRedirect");
		break;
	case 400: snprintf(err->code, sizeof(err->code), "BadRequest"); break;
	case 403: snprintf(err->code, sizeof(err->code), "Forbidden"); break;
	case 404: snprintf(err->code, sizeof(err->code), "NotFound"); break;
	case 412:
		snprintf(err->code, sizeof(err->code), "PreconditionFailed");
		break;
	case 501:
		snprintf(err->code, sizeof(err->code), "NotImplemented");
		break;
	case 503: snprintf(err->code, sizeof(err->code), "SlowDown"); break;
	default:
		snprintf(err->code, sizeof(err->code), "HTTP%ld", status);
		break;
	}
	snprintf(err->message, sizeof(err->message), "HTTP status %ld%s",
	    status, len > 0 ? " with a body that is not an S3 error" : "");
}

enum s3policy_transport
s3err_from_curl(struct s3_error *err, CURLcode cc, const char *detail)
{
	enum s3policy_transport t = S3POLICY_NET_FATAL;
	const char *code = "RequestFailed";

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = "ResolveFailed", t = S3POLICY_NET_RETRY;
		break;
	case CURLE_COULDNT_CONNECT:
		code = "ConnectFailed", t = S3POLICY_NET_RETRY;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = "Timeout", t = S3POLICY_NET_RETRY;
		break;
	case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		code = "ConnectionError", t = S3POLICY_NET_RETRY;
		break;
	case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		code = "TLSVerifyFailed";
		break;
	case CURLE_WRITE_ERROR: case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		code = "Aborted", t = S3POLICY_NET_ABORTED;
		break;
	default:
		break;
	}
	err->http_status = 0;
	err->request_id[0] = '\0';
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->message, sizeof(err->message), "%s",
	    detail != NULL && *detail != '\0' ? detail : curl_easy_strerror(cc));
	return t;
}

struct hint {
	const char *code;
	int errnum;
	const char *hint;
};

static const struct hint hints[] = {
	{ "SignatureDoesNotMatch", EACCES, "wrong secret access key "
	    "(the store computed another signature)" },
	{ "InvalidAccessKeyId", EACCES, "unknown access key id" },
	{ "AccessDenied", EACCES, "access denied: the credentials lack "
	    "permission on this bucket or key" },
	{ "Forbidden", EACCES, "access denied (HTTP 403): check the "
	    "credentials and their permissions" },
	{ "NoSuchBucket", ENXIO, "the bucket does not exist" },
	{ "NoSuchKey", ENOENT, "no such object" },
	{ "NotFound", ENOENT, "no such object" },
	{ "NoSuchUpload", ENOENT, "the multipart upload is gone" },
	{ "RequestTimeTooSkewed", EACCES, "the system clock is off: fix "
	    "the time (NTP)" },
	{ "ExpiredToken", EACCES, "the session token has expired" },
	{ "InvalidToken", EACCES, "the session token is not valid" },
	{ "AuthorizationHeaderMalformed", EACCES, "wrong region for this "
	    "bucket: set region" },
	{ "PermanentRedirect", EACCES, "the bucket is in another region or "
	    "needs another endpoint: set region/endpoint" },
	{ "InvalidBucketName", EINVAL, "the bucket name is not valid" },
	{ "BadDigest", EIO, "the body was corrupted in transit" },
	{ "ConnectFailed", ECONNREFUSED, "cannot connect to the endpoint" },
	{ "ResolveFailed", ECONNREFUSED, "cannot resolve the endpoint's "
	    "host name" },
	{ "Timeout", ETIMEDOUT, "the endpoint did not answer in time" },
	{ "ConnectionError", EIO, "the connection failed mid-request" },
	{ "TLSVerifyFailed", EACCES, "the endpoint's TLS certificate is not "
	    "trusted (skip-verify turns checks off)" },
	{ "Aborted", ECANCELED, "" },
	{ NULL, 0, NULL },
};

void
s3err_classify(struct s3_error *err)
{
	for (const struct hint *h = hints; h->code != NULL; h++) {
		if (strcmp(err->code, h->code) == 0) {
			err->errnum = h->errnum;
			err->hint = h->hint;
			return;
		}
	}
	err->errnum = EIO;
	if (err->http_status == 403) {
		err->errnum = EACCES;
		err->hint = "access denied (HTTP 403)";
	} else if (err->http_status == 404) {
		err->errnum = ENOENT;
		err->hint = "not found";
	} else if (err->hint == NULL) {
		err->hint = "";
	}
}

int
s3_error_format(const struct s3_error *err, char *buf, size_t len)
{
	char status[32] = "";
	char attempts[40] = "";
	const char *hint = err->hint != NULL ? err->hint : "";

	if (err->http_status != 0)
		snprintf(status, sizeof(status), " (HTTP %d)",
		    err->http_status);
	if (err->attempts > 1)
		snprintf(attempts, sizeof(attempts), " [after %u attempts]",
		    err->attempts);
	return snprintf(buf, len, "%s s3://%s/%s at %s: %s%s%s%s%s%s%s",
	    err->op, err->bucket, err->key, err->endpoint, hint,
	    *hint ? ": " : "", err->code, status,
	    *err->message ? ": " : "", err->message, attempts);
}
