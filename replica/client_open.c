/*
 * client_open: the replica client for a configured replica, by its type
 * (see client.h). Kept apart from client.c so that code using only the
 * generic helpers does not link every replica type.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>

#include "age_client.h"
#include "config.h"
#include "s3_replica.h"

static struct replica_client *
open_storage(const struct cfg_replica *r, char *err, size_t errlen)
{
	const char *type = "unknown";

	switch (r->type) {
	case CFG_REPLICA_FILE:
		if (r->path == NULL || r->path[0] == '\0') {
			snprintf(err, errlen, "file replica path required");
			errno = EINVAL;
			return NULL;
		}
		return file_client_new(r->path, r->name, err, errlen);
	case CFG_REPLICA_S3:
		return s3_replica_new(r, err, errlen);
	case CFG_REPLICA_GCS:
		type = "gcs";
		break;
	case CFG_REPLICA_ABS:
		type = "abs";
		break;
	case CFG_REPLICA_SFTP:
		type = "sftp";
		break;
	}
	snprintf(err, errlen, "replica %s: type %s is not supported by "
	    "walship yet (supported: file, s3)", r->name ? r->name : "?",
	    type);
	errno = ENOTSUP;
	return NULL;
}

struct replica_client *
replica_client_open(const struct cfg_replica *r, char *err, size_t errlen)
{
	struct replica_client *c = open_storage(r, err, errlen);

	if (c != NULL && replica_age_enabled(r))
		c = age_client_wrap(c, r, err, errlen);
	return c;
}
