/*
 * log_config: see log_config.h. An unknown level cannot get here (the
 * config loader rejects it), so a failed parse keeps INFO.
 */
#include "log_config.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"

void
log_config_apply(const struct cfg *cfg)
{
	enum log_level level = LOG_LEVEL_INFO;
	if (cfg->log_level)
		(void)log_parse_level(cfg->log_level, &level);
	log_init(level, cfg->log_type && strcmp(cfg->log_type, "json") == 0 ?
	    LOG_FORMAT_JSON : LOG_FORMAT_TEXT,
	    cfg->log_stderr ? stderr : stdout);
}
