/*
 * age_check: the age: block of a replica (format doc §1.5, §5.2). Every
 * recipient and identity must parse as an X25519 key (age/age.h), so a
 * typo fails at load time with its line instead of at the first upload
 * or, worse, the first restore. Messages never quote an identity.
 */
#include "cfg_int.h"

#include <stdio.h>

#include "age.h"

static void
check_list(struct cfg_ctx *c, const char *where, yaml_node_t *seq,
    bool identities)
{
	char iw[CFG_WHERE_MAX], why[200];
	uint8_t key[AGE_KEY_LEN];

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return;
	size_t n = (size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *it = cfg_node(c, seq->data.sequence.items.start[i]);
		if (it == NULL || it->type != YAML_SCALAR_NODE)
			continue;	/* reported by the list parser */
		int rc = identities ?
		    age_parse_identity(cfg_scalar(it), key, why, sizeof(why)) :
		    age_parse_recipient(cfg_scalar(it), key, why, sizeof(why));
		if (rc < 0) {
			snprintf(iw, sizeof(iw), "%s.%s[%zu]", where,
			    identities ? "identities" : "recipients", i);
			cfg_error(c, it, iw, "%s", why);
		}
	}
	explicit_bzero(key, sizeof(key));
}

void
cfg_check_age(struct cfg_ctx *c, const char *where, yaml_node_t *age,
    yaml_node_t *identities, yaml_node_t *recipients)
{
	if (age == NULL)
		return;
	check_list(c, where, identities, true);
	check_list(c, where, recipients, false);
}
