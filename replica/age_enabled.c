/*
 * age_enabled: whether a replica is encrypted with age. Apart from
 * age_client.c, which lives in the module (module/module.h), because the
 * main binary asks before it knows whether it needs the module.
 */
#include "age_client.h"
#include "config.h"

bool
replica_age_enabled(const struct cfg_replica *r)
{
	return r->age_identities.n > 0 || r->age_recipients.n > 0 ||
	    (r->age_identity_file != NULL && *r->age_identity_file != '\0');
}
