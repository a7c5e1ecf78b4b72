/*
 * credenv: the environment variables S3 credentials are read from (see
 * cfg_replica_env_creds in resolve.c), so that the supervisor can pass them
 * only to the processes that use them. Alone in its file so the supervisor
 * links it without the config loader.
 */
#include <string.h>

#include "config.h"

bool
cfg_env_is_credential(const char *entry)
{
	static const char *const names[] = { "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY",
		"AWS_SECRET_KEY", "LITESTREAM_ACCESS_KEY_ID",
		"LITESTREAM_SECRET_ACCESS_KEY" };
	size_t n = strcspn(entry, "=");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == n && strncmp(entry, names[i], n) == 0)
			return true;
	}
	return false;
}
